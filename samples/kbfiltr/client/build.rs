//! A console program with its own entry point and no C runtime (see client-support).
fn main() {
    for arg in ["/NODEFAULTLIB", "/SUBSYSTEM:CONSOLE", "/ENTRY:mainCRTStartup"] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}
