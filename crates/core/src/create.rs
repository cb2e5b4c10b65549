//! Building a v1 metainfo file from a file or folder on disk.
