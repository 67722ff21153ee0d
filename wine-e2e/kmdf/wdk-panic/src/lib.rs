//! Stand-in for wdk-panic: the test program brings its own panic handler.
#![no_std]
