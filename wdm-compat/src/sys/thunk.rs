//! Trampolines: the `extern "system"` entry points the system calls, which turn raw pointers
//! into the seam's handles and call the safe layer.
