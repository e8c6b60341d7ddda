// Starts GraphiQL against this server's /graphql. Kept in a file (not inline) so the page can run
// under a Content-Security-Policy without 'unsafe-inline' scripts.
(function () {
  var defaultQuery = [
    "# Welcome to papergraph: Hugging Face Daily Papers as a GraphQL API.",
    "# Press the run button (or Ctrl-Enter) to fetch the most upvoted papers.",
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
