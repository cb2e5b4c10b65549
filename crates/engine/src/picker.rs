//! TODO
pub struct Picker;
