//! The unit registry: every weight unit the API accepts, and its factor to kg.

use std::fmt;

/// One weight unit. Adding a unit is adding one line to [`UNITS`].
#[derive(Debug, PartialEq)]
pub struct UnitDef {
    pub code: &'static str,
    /// Kilograms in one of this unit (exact, as defined).
    pub kg_per_unit: f64,
}

pub static UNITS: &[UnitDef] = &[
    UnitDef {
        code: "kg",
        kg_per_unit: 1.0,
    },
    // The international avoirdupois pound, exact by definition.
    UnitDef {
        code: "lb",
        kg_per_unit: 0.453_592_37,
    },
];

/// A unit from the registry.
#[derive(Clone, Copy, PartialEq)]
pub struct Unit(&'static UnitDef);

impl Unit {
    pub const KG: Unit = Unit(&UNITS[0]);

    /// Looks a unit up by its code (case-sensitive, as the API documents).
    pub fn parse(code: &str) -> Option<Unit> {
        UNITS.iter().find(|u| u.code == code).map(Unit)
    }

    pub fn code(self) -> &'static str {
        self.0.code
    }

    /// The codes the API accepts, for error messages.
    pub fn allowed_codes() -> Vec<&'static str> {
        UNITS.iter().map(|u| u.code).collect()
    }

    /// Converts a weight in this unit to kg, at full precision.
    pub fn to_kg(self, weight: f64) -> f64 {
        if self.0.kg_per_unit == 1.0 {
            weight
        } else {
            weight * self.0.kg_per_unit
        }
    }

    /// Converts a weight in kg to this unit (division, so lb is kg / 0.45359237).
    pub fn from_kg(self, weight_kg: f64) -> f64 {
        if self.0.kg_per_unit == 1.0 {
            weight_kg
        } else {
            weight_kg / self.0.kg_per_unit
        }
    }
}

impl fmt::Debug for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for Unit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Unit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Unit::parse(&code).ok_or_else(|| serde::de::Error::custom(format!("unknown unit `{code}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_codes_only() {
        assert_eq!(Unit::parse("kg"), Some(Unit::KG));
        assert_eq!(Unit::parse("lb").unwrap().code(), "lb");
        assert_eq!(Unit::parse("LB"), None);
        assert_eq!(Unit::parse("stone"), None);
        assert_eq!(Unit::allowed_codes(), vec!["kg", "lb"]);
    }

    #[test]
    fn pound_conversion_is_exact_and_unrounded() {
        let lb = Unit::parse("lb").unwrap();
        assert_eq!(lb.to_kg(1.0), 0.453_592_37);
        assert_eq!(lb.to_kg(225.0), 225.0 * 0.453_592_37);
        assert_eq!(lb.from_kg(100.0), 100.0 / 0.453_592_37);
        assert_eq!(Unit::KG.to_kg(72.5), 72.5);
    }
}
