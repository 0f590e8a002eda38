//! Tauri build script: reads tauri.conf.json beside the root Cargo.toml and the
//! capabilities under src-tauri/capabilities.

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    let app = tauri_build::AppManifest::new().commands(&["app_info"]);
    let attrs = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/**/*")
        .app_manifest(app);
    if let Err(e) = tauri_build::try_build(attrs) {
        println!("cargo:warning=tauri build failed: {e:#}");
        std::process::exit(1);
    }
}
