//! Outside tools some tests need, and where they are found: axe-core (npm) for the
//! accessibility checks in the browser, openapi-spec-validator (PyPI) for the OpenAPI
//! document. `scripts/test.sh` installs both under `target/test-tools/` when they are
//! missing; without them those tests fail and say how to get them (they never skip).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where `scripts/test.sh` installs the tools (`npm install --prefix`, a Python venv).
pub fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-tools")
}

/// The text of axe-core's `axe.min.js`: `$CRM_AXE_JS` when set, else the copy `scripts/test.sh`
/// installs with `npm install --prefix target/test-tools axe-core@4`.
pub fn axe_source() -> String {
    let path = std::env::var_os("CRM_AXE_JS").map_or_else(
        || tools_dir().join("node_modules/axe-core/axe.min.js"),
        PathBuf::from,
    );
    std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "the accessibility test needs axe-core at {} ({error}): run `bash scripts/test.sh` \
             (it installs it) or `npm install --prefix target/test-tools axe-core@4`",
            path.display()
        )
    })
}

/// A Python that can import `openapi_spec_validator`: the venv `scripts/test.sh` makes under
/// `target/test-tools/venv`, else `python3` from the path.
pub fn openapi_validator_python() -> PathBuf {
    let candidates = [
        tools_dir().join("venv/bin/python3"),
        PathBuf::from("python3"),
    ];
    for python in candidates {
        let found = Command::new(&python)
            .args(["-c", "import openapi_spec_validator"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if found {
            return python;
        }
    }
    panic!(
        "the OpenAPI test needs the PyPI package openapi-spec-validator: run `bash scripts/test.sh` \
         (it installs it into target/test-tools/venv) or `pip install openapi-spec-validator`"
    );
}
