//! Configures the WDK link for this driver binary (one driver model per cargo graph).
fn main() -> Result<(), wdk_build::ConfigError> {
    wdk_build::configure_wdk_binary_build()
}
