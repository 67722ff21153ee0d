//! A stand-in for wdk-panic, for compiling the seams for a Windows target without the WDK. The
//! real crate is the image's panic handler; a `cargo check` of a library needs none, so this
//! one is empty.
#![no_std]
