fn main() {
    // src-tauri/tauri.conf.json is a symlink to the root file, so both cargo
    // and the Tauri CLI find the one config.
    tauri_build::build()
}
