//! Running as the mount helper: installed as `mount.fuse.dynamofs` (a link
//! to this binary), mount(8) calls it for `mount -t fuse.dynamofs` and for
//! /etc/fstab lines as `mount.fuse.dynamofs SOURCE DIR [-o OPTS] [-n] [-s]
//! [-f] [-v]`. The arguments are rewritten into `dynamofs mount …`.

use std::ffi::OsString;

const HELPER_NAMES: [&str; 2] = ["mount.fuse.dynamofs", "mount.dynamofs"];

pub fn argv() -> Vec<OsString> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let invoked = args
        .first()
        .and_then(|a| {
            std::path::Path::new(a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    if !HELPER_NAMES.contains(&invoked.as_str()) {
        return args;
    }
    let mut out: Vec<OsString> = vec!["dynamofs".into(), "mount".into()];
    let mut rest = args.into_iter().skip(1);
    while let Some(a) = rest.next() {
        match a.to_str() {
            // mount(8): -n (no mtab), -s (sloppy), -v (verbose): harmless.
            Some("-n") | Some("-s") | Some("-v") => {}
            Some("-o") => {
                if let Some(o) = rest.next() {
                    out.push("-o".into());
                    out.push(o);
                }
            }
            _ => out.push(a),
        }
    }
    out
}
