//! TODO
pub struct Choker;
