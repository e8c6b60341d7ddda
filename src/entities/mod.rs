//! sea-orm entities: one module per table, rows only. GraphQL types live in `graphql/`, never here.
pub mod author;
pub mod daily_list;
pub mod day_recheck;
pub mod digest_delivery;
pub mod digest_subscription;
pub mod hf_user;
pub mod organization;
pub mod paper;
pub mod paper_author;
pub mod paper_comment;
pub mod paper_detail;
pub mod paper_link;
pub mod sync_run;
pub mod upvote_snapshot;
