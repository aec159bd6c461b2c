//! XML documents Hearth reads and writes (being written).
