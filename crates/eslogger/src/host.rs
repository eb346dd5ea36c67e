//! `host.id` for macOS: the Hardware UUID, upper case, as Elastic Agent computes it
//! (`gethostuuid()` + `uuid_unparse_upper`, elastic/go-sysinfo). `ioreg` prints the same value as
//! `IOPlatformUUID`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostIdError(pub String);

impl fmt::Display for HostIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostIdError {}

/// This Mac's Hardware UUID (runs `ioreg -rd1 -c IOPlatformExpertDevice`). Elsewhere: an error saying
/// that a host id must be given.
pub fn hardware_uuid() -> Result<String, HostIdError> {
    if !cfg!(target_os = "macos") {
        return Err(HostIdError(format!(
            "no host id: this is {}, not macOS, so the Hardware UUID cannot be read; pass --host-id \
             (on the Mac that captured the events: `ioreg -rd1 -c IOPlatformExpertDevice | grep IOPlatformUUID`)",
            std::env::consts::OS
        )));
    }
    let output = std::process::Command::new("/usr/sbin/ioreg")
        .args(["-rd1", "-c", "IOPlatformExpertDevice"])
        .output()
        .map_err(|err| {
            HostIdError(format!(
                "no host id: running ioreg failed: {err}; pass --host-id"
            ))
        })?;
    if !output.status.success() {
        return Err(HostIdError(format!(
            "no host id: ioreg exited with {}; pass --host-id",
            output.status
        )));
    }
    parse_ioreg_platform_uuid(&String::from_utf8_lossy(&output.stdout)).ok_or_else(|| {
        HostIdError("no host id: ioreg printed no IOPlatformUUID; pass --host-id".to_string())
    })
}

/// Finds `"IOPlatformUUID" = "…"` in `ioreg` output; upper-cased like Elastic's `host.id`.
pub fn parse_ioreg_platform_uuid(ioreg_output: &str) -> Option<String> {
    ioreg_output.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("\"IOPlatformUUID\"")?;
        let value = rest.trim_start().strip_prefix('=')?.trim();
        let value = value.strip_prefix('"')?.strip_suffix('"')?;
        (!value.is_empty()).then(|| value.to_ascii_uppercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ioreg_output() {
        let text = "+-o MacBookPro18,3  <class IOPlatformExpertDevice, id 0x100000219>\n    {\n      \"IOPlatformSerialNumber\" = \"XXXX\"\n      \"IOPlatformUUID\" = \"d9c40e3d-dfd7-5382-81ec-c31215e704ce\"\n    }\n";
        assert_eq!(
            parse_ioreg_platform_uuid(text).as_deref(),
            Some("D9C40E3D-DFD7-5382-81EC-C31215E704CE")
        );
        assert_eq!(parse_ioreg_platform_uuid("nothing here"), None);
    }

    #[cfg(not(target_os = "macos"))]
    #[test]
    fn off_macos_the_error_says_to_pass_host_id() {
        let err = hardware_uuid().unwrap_err();
        assert!(err.0.contains("--host-id"), "{err}");
    }
}
