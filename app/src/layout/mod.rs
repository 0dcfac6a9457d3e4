//! The parts of the page layout shared by every route.

mod header;

pub use header::Header;
