//! How the window renders on Linux.
//!
//! WebKitGTK composites through its DMA-BUF renderer by default. Without a
//! GPU render node (virtual machines, remote desktops, Xvfb) that renderer
//! runs on software GL, and each frame of the workspace took 60–150 ms on
//! the measuring machine (BENCHMARKS.md); with it off, frames keep pace
//! with the display and a claim opens in about 60 ms. So it is turned off
//! only where there is no render node, and never against the person's own
//! setting of the variable.

/// The variable WebKitGTK reads.
pub const DMABUF_SWITCH: &str = "WEBKIT_DISABLE_DMABUF_RENDERER";

/// Whether to turn the DMA-BUF renderer off, given whether the machine has
/// a GPU render node and whether the variable is already set.
pub fn disable_dmabuf(has_render_node: bool, already_set: bool) -> bool {
    !has_render_node && !already_set
}

/// Whether `/dev/dri` holds a render node (`renderD128`, …).
#[cfg(target_os = "linux")]
fn has_render_node() -> bool {
    std::fs::read_dir("/dev/dri")
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
        })
        .unwrap_or(false)
}

/// Applies the choice to this process's environment; true when it turned
/// the renderer off. Call before any thread starts (setting a variable is
/// not safe beside threads reading the environment) and before the window
/// exists (WebKit reads it once).
pub fn configure() -> bool {
    #[cfg(target_os = "linux")]
    if disable_dmabuf(has_render_node(), std::env::var_os(DMABUF_SWITCH).is_some()) {
        std::env::set_var(DMABUF_SWITCH, "1");
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_only_without_a_render_node_and_never_over_the_persons_setting() {
        assert!(disable_dmabuf(false, false));
        assert!(!disable_dmabuf(true, false));
        assert!(!disable_dmabuf(false, true));
        assert!(!disable_dmabuf(true, true));
    }
}
