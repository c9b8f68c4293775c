//! Exports where the nginx binary that this module was built against lives,
//! and which nginx version it is, so tests and scripts run the right binary
//! and the glue can gate on fields that only newer nginx versions have.

use std::env;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rerun-if-env-changed=DEP_NGINX_BUILD_DIR");
    println!("cargo::rustc-check-cfg=cfg(ngx_has_terminated)");
    println!("cargo::rustc-check-cfg=cfg(ngx_has_header_links)");

    // nginx-sys (a direct dependency, `links = "nginx"`) tells us its build
    // directory and version.
    let build_dir = env::var("DEP_NGINX_BUILD_DIR").map(PathBuf::from).ok();
    let version: u64 = env::var("DEP_NGINX_VERSION_NUMBER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);

    // ngx_http_request_t.terminated appeared in nginx 1.25.3.
    if version >= 1_025_003 {
        println!("cargo::rustc-cfg=ngx_has_terminated");
    }
    // nginx 1.23.0 linked repeated headers (ngx_table_elt_t.next) and made
    // headers_out.cache_control one of them instead of an array.
    if version >= 1_023_000 {
        println!("cargo::rustc-cfg=ngx_has_header_links");
    }

    let Some(build_dir) = build_dir else { return };
    let binary = build_dir.join("nginx");
    println!("cargo::rustc-env=NGINX_BINARY={}", binary.display());

    // Also leave a link at target/<profile>/nginx so scripts can find the
    // binary without knowing cargo's hashed build directories.
    if binary.exists() {
        if let Some(profile_dir) = profile_dir() {
            let link = profile_dir.join("nginx");
            let _ = std::fs::remove_file(&link);
            #[cfg(unix)]
            let _ = std::os::unix::fs::symlink(&binary, &link);
        }
    }
}

/// target/<profile>, three levels above OUT_DIR (target/<profile>/build/<pkg>/out).
fn profile_dir() -> Option<PathBuf> {
    let out_dir = env::var("OUT_DIR").ok()?;
    Path::new(&out_dir)
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
}
