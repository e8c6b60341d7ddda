//! Domain values: parsed once at the edge ("parse, don't validate"), trusted everywhere inside.
mod arxiv_id;
mod dates;
mod email;
mod hub;
mod markup;
mod names;
mod paper;
pub mod search;

pub use arxiv_id::ArxivId;
pub use dates::{DateRange, parse_iso_week, parse_month};
pub use email::Email;
pub use hub::{HubRepo, LinkedList, PaperComment, PaperNeighbourhood, RepoKind};
pub use markup::{escape_markup, xml_text};
pub use names::{AuthorName, author_key, collapse_whitespace, fold_for_search};
pub use paper::{DailyPaper, HfUserRef, OrganizationRef, PaperAuthorEntry, trending_score};
