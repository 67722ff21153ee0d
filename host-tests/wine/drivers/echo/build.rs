//! Driver link arguments, for this cdylib only (so the client links as a normal program).
fn main() {
    for arg in ["/NODEFAULTLIB", "/SUBSYSTEM:NATIVE", "/DRIVER", "/ENTRY:DriverEntry", "/BASE:0x140000000"] {
        println!("cargo:rustc-cdylib-link-arg={arg}");
    }
}
