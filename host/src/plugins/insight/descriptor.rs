//! Checking a plugin's self-description before it is listed.

use super::params::check_value;
use super::types::{Descriptor, ParamKind};

/// Query parameters the host itself uses on insight routes: plugins cannot declare them.
pub const RESERVED_PARAMS: &[&str] = &["userId", "series"];

/// Reserved too for plugins of interface 0.2.0 on, which receive the date
/// range from the host.
pub const RANGE_PARAMS: &[&str] = &["from", "to"];

/// A plugin's self-description must be usable before the plugin is listed.
pub fn check(d: &Descriptor) -> anyhow::Result<()> {
    let valid_name = !d.name.is_empty()
        && d.name.len() <= 64
        && d.name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    anyhow::ensure!(
        valid_name,
        "describe() gave the name {:?}: use 1-64 characters [a-z0-9-]",
        d.name
    );
    let mut seen = std::collections::BTreeSet::new();
    for p in &d.params {
        anyhow::ensure!(
            !p.name.is_empty()
                && p.name.len() <= 64
                && p.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "parameter name {:?} must be 1-64 characters [A-Za-z0-9_-]",
            p.name
        );
        anyhow::ensure!(
            seen.insert(p.name.as_str()),
            "parameter {:?} is declared twice",
            p.name
        );
        anyhow::ensure!(
            !RESERVED_PARAMS.contains(&p.name.as_str()),
            "parameter {:?} is reserved by the host",
            p.name
        );
        anyhow::ensure!(
            d.interface == "everfit:insights@0.1.0" || !RANGE_PARAMS.contains(&p.name.as_str()),
            "parameter {:?} is reserved by the host (the date range it passes)",
            p.name
        );
        if let ParamKind::Choice { values } = &p.kind {
            anyhow::ensure!(
                !values.is_empty(),
                "parameter {:?} offers no choices",
                p.name
            );
        }
        if let ParamKind::Integer { min, max } = &p.kind {
            anyhow::ensure!(min <= max, "parameter {:?}: min {min} > max {max}", p.name);
        }
        if let Some(default) = &p.default {
            check_value(&p.kind, default)
                .map_err(|m| anyhow::anyhow!("parameter {:?}: default {default:?} {m}", p.name))?;
        }
    }
    anyhow::ensure!(
        d.params
            .iter()
            .filter(|p| p.kind == ParamKind::Exercise)
            .count()
            <= 1,
        "at most one parameter may be of kind exercise"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::insight::types::ParamSpec;

    fn declaring(param: &str, interface: &str) -> Descriptor {
        Descriptor {
            name: "x".into(),
            params: vec![ParamSpec {
                name: param.into(),
                description: String::new(),
                kind: ParamKind::Text,
                required: false,
                default: None,
            }],
            interface: interface.into(),
            ..Descriptor::default()
        }
    }

    #[test]
    fn from_and_to_are_the_hosts_from_interface_0_2_0_on() {
        for p in ["from", "to"] {
            assert!(
                check(&declaring(p, "everfit:insights@0.1.0")).is_ok(),
                "{p}"
            );
            let err = check(&declaring(p, "everfit:insights@0.2.0")).unwrap_err();
            assert!(err.to_string().contains("reserved by the host"), "{err}");
        }
        assert!(check(&declaring("weeks", "everfit:insights@0.2.0")).is_ok());
        assert!(check(&declaring("userId", "everfit:insights@0.1.0")).is_err());
    }
}
