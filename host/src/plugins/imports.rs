//! What a component imports, and what the sandbox makes of each import:
//! provided, linked but denied, or never provided (the component is then
//! refused, the import named). Mirrors what `wasi::linker` defines.

use super::versions::SUPPORTED_VERSIONS;
use wasmtime::Engine;
use wasmtime::component::Component;

/// How the host answers one import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provision {
    /// Works as specified, with the note's restriction if any.
    Provided(&'static str),
    /// Linked so the component instantiates, but every use is refused.
    Denied(&'static str),
    /// Not in the linker: the component cannot be loaded.
    Missing,
}

impl std::fmt::Display for Provision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Provision::Provided(note) => write!(f, "provided ({note})"),
            Provision::Denied(note) => write!(f, "provided, denied by the sandbox ({note})"),
            Provision::Missing => write!(f, "NOT PROVIDED"),
        }
    }
}

/// One import of a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub name: String,
    pub provision: Provision,
}

/// The WASI 0.2 interfaces the linker defines (any 0.2.x import resolves
/// to them), and what each gives a plugin.
const WASI: &[(&str, Provision)] = &[
    ("wasi:random/random", Provision::Provided("random numbers")),
    (
        "wasi:random/insecure",
        Provision::Provided("random numbers"),
    ),
    (
        "wasi:random/insecure-seed",
        Provision::Provided("a random seed"),
    ),
    (
        "wasi:clocks/wall-clock",
        Provision::Provided("the host's clock"),
    ),
    (
        "wasi:clocks/monotonic-clock",
        Provision::Provided("the host's clock; waits end at the call's deadline"),
    ),
    ("wasi:io/error", Provision::Provided("stream errors")),
    (
        "wasi:io/poll",
        Provision::Provided("waiting on clocks and streams"),
    ),
    ("wasi:io/streams", Provision::Provided("streams")),
    (
        "wasi:cli/stdout",
        Provision::Provided("captured to the service log, 16 KiB per call"),
    ),
    (
        "wasi:cli/stderr",
        Provision::Provided("captured to the service log, 16 KiB per call"),
    ),
    ("wasi:cli/stdin", Provision::Denied("closed")),
    (
        "wasi:cli/environment",
        Provision::Denied("no variables, no arguments"),
    ),
    (
        "wasi:cli/exit",
        Provision::Provided("ends the call with an error"),
    ),
    (
        "wasi:cli/terminal-input",
        Provision::Provided("not a terminal"),
    ),
    (
        "wasi:cli/terminal-output",
        Provision::Provided("not a terminal"),
    ),
    (
        "wasi:cli/terminal-stdin",
        Provision::Provided("not a terminal"),
    ),
    (
        "wasi:cli/terminal-stdout",
        Provision::Provided("not a terminal"),
    ),
    (
        "wasi:cli/terminal-stderr",
        Provision::Provided("not a terminal"),
    ),
    ("wasi:filesystem/types", Provision::Denied("no folders")),
    ("wasi:filesystem/preopens", Provision::Denied("no folders")),
    ("wasi:sockets/network", Provision::Denied("no network")),
    (
        "wasi:sockets/instance-network",
        Provision::Denied("no network"),
    ),
    ("wasi:sockets/tcp", Provision::Denied("no network")),
    (
        "wasi:sockets/tcp-create-socket",
        Provision::Denied("no network"),
    ),
    ("wasi:sockets/udp", Provision::Denied("no network")),
    (
        "wasi:sockets/udp-create-socket",
        Provision::Denied("no network"),
    ),
    (
        "wasi:sockets/ip-name-lookup",
        Provision::Denied("no network"),
    ),
];

/// What the host makes of an import named `name` (`package/interface@version`).
pub fn provision(name: &str) -> Provision {
    let (interface, version) = name.split_once('@').unwrap_or((name, ""));
    if interface == "everfit:insights/types" && SUPPORTED_VERSIONS.contains(&version) {
        return Provision::Provided(if version == "0.1.0" {
            "the plugin interface's types"
        } else {
            "the plugin interface's types and the call's entries, page by page"
        });
    }
    if !version.starts_with("0.2.") {
        return Provision::Missing;
    }
    WASI.iter()
        .find(|(known, _)| *known == interface)
        .map_or(Provision::Missing, |(_, p)| *p)
}

/// The component's imports, in its own order.
pub fn imports(engine: &Engine, component: &Component) -> Vec<Import> {
    component
        .component_type()
        .imports(engine)
        .map(|(name, _)| Import {
            name: name.to_string(),
            provision: provision(name),
        })
        .collect()
}

/// Refuses a component that imports something the host never provides.
pub fn check_provided(imports: &[Import]) -> anyhow::Result<()> {
    let missing: Vec<&str> = imports
        .iter()
        .filter(|i| i.provision == Provision::Missing)
        .map(|i| i.name.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "imports {}, which this host never provides (it provides WASI 0.2 random, clocks, \
         io and cli, and links filesystem and sockets with every use denied)",
        missing.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasi_0_2_is_provided_or_denied_and_anything_else_is_missing() {
        assert!(matches!(
            provision("wasi:random/insecure-seed@0.2.6"),
            Provision::Provided(_)
        ));
        assert!(matches!(
            provision("wasi:filesystem/preopens@0.2.0"),
            Provision::Denied(_)
        ));
        assert!(matches!(
            provision("wasi:sockets/tcp@0.2.12"),
            Provision::Denied(_)
        ));
        assert!(matches!(
            provision("everfit:insights/types@0.1.0"),
            Provision::Provided(_)
        ));
        assert!(matches!(
            provision("everfit:insights/types@0.2.0"),
            Provision::Provided(_)
        ));
        for missing in [
            "everfit:insights/types@0.9.0",
            "wasi:http/outgoing-handler@0.2.6",
            "wasi:random/random@0.3.0",
            "wasi:random/random",
            "example:foreign/telemetry",
        ] {
            assert_eq!(provision(missing), Provision::Missing, "{missing}");
        }
    }
}
