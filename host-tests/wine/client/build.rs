//! A console program with its own entry point and no C runtime (Wine 8 lacks what a Rust std
//! program imports at start-up, `bcryptprimitives.dll!ProcessPrng`).
fn main() {
    for arg in ["/NODEFAULTLIB", "/SUBSYSTEM:CONSOLE", "/ENTRY:mainCRTStartup"] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}
