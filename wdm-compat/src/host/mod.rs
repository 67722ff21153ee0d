//! A simulated NT I/O manager (feature `host`).
