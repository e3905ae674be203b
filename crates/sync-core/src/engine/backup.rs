//! Configuration backup and restore. (Being written; see issue 6.)
