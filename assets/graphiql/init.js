// Starts GraphiQL against this server's /graphql. Kept in a file (not inline) so the page can run
// under a Content-Security-Policy without 'unsafe-inline' scripts.
(function () {
  var defaultQuery = [
    "# papergraph: Hugging Face Daily Papers as GraphQL.",
    "# Run with the play button or Ctrl-Enter; Docs on the left.",
    "{",
    "  papers(orderBy: {field: UPVOTES}, first: 5) {",
    "    totalCount",
    "    nodes {",
    "      arxivId",
    "      title",
    "      upvotes",
    "      dailyDate",
    "      authors { name }",
    "    }",
    "  }",
    "}",
    "",
  ].join("\n");
  var fetcher = GraphiQL.createFetcher({ url: window.location.origin + "/graphql" });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: true,
    })
  );
})();
