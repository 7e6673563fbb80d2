//! The registry's enumerations: budget, aquifer type, water source and use sector, with the text
//! the registry CSVs use for them and the Chinese labels outputs print.
//!
//! The registry text of each value is its variant name in snake_case (strum derives the parsing,
//! the display and the list of values from that); [`parse`] adds what the registry's error
//! messages need, the list of valid values.

use std::str::FromStr;

use strum::{Display, EnumString, IntoStaticStr, VariantArray};

/// Which of the plan's two groundwater budgets an intake draws on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, EnumString)]
#[strum(serialize_all = "snake_case")]
#[derive(Display, IntoStaticStr, VariantArray)]
pub enum Budget {
    SupplyGroup,
    County,
}

/// Aquifer type, as the Ministry lists overloaded areas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, EnumString)]
#[strum(serialize_all = "snake_case")]
#[derive(Display, IntoStaticStr, VariantArray)]
pub enum Aquifer {
    Shallow,
    Confined,
    Karst,
    Hilly,
}

/// Water source of an intake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, EnumString)]
#[strum(serialize_all = "snake_case")]
#[derive(Display, IntoStaticStr, VariantArray)]
pub enum Source {
    Groundwater,
    Surface,
    Reclaimed,
    Mine,
}

/// Use sector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, EnumString)]
#[strum(serialize_all = "snake_case")]
#[derive(Display, IntoStaticStr, VariantArray)]
pub enum Sector {
    PublicSupply,
    Domestic,
    Industry,
    Service,
    Agriculture,
    Ecology,
}

impl Budget {
    /// All values, in declaration order.
    pub const ALL: &'static [Budget] = Budget::VARIANTS;

    /// The value as written in the registry.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Chinese label as the plan writes it.
    pub fn label(self) -> &'static str {
        match self {
            Budget::SupplyGroup => "太原供水集团",
            Budget::County => "各县（市、区）",
        }
    }
}

impl Aquifer {
    /// All values, in declaration order.
    pub const ALL: &'static [Aquifer] = Aquifer::VARIANTS;

    /// The value as written in the registry.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Aquifer::Shallow => "浅层孔隙水",
            Aquifer::Confined => "深层承压水",
            Aquifer::Karst => "岩溶水",
            Aquifer::Hilly => "山丘区裂隙水",
        }
    }
}

impl Source {
    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Source::Groundwater => "地下水",
            Source::Surface => "地表水",
            Source::Reclaimed => "再生水",
            Source::Mine => "矿井疏干水",
        }
    }

    /// All values, in declaration order.
    pub const ALL: &'static [Source] = Source::VARIANTS;

    /// The value as written in the registry.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl Sector {
    /// All values, in declaration order.
    pub const ALL: &'static [Sector] = Sector::VARIANTS;

    /// The value as written in the registry.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A registry value that is none of its enumeration's; shows as `'<value>': expected a|b|c`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}': expected {choices}")]
pub struct UnknownValue {
    /// The text as found.
    pub value: String,
    /// The valid values, joined by `|` in declaration order.
    pub choices: String,
}

/// Parses the registry text of one of the enumerations above (surrounding spaces ignored); the
/// error lists the valid values, since the people who fix the file need them.
pub fn parse<T>(s: &str) -> Result<T, UnknownValue>
where
    T: FromStr + VariantArray + Copy + Into<&'static str>,
{
    s.trim().parse().map_err(|_| UnknownValue {
        value: s.to_string(),
        choices: T::VARIANTS
            .iter()
            .map(|&v| v.into())
            .collect::<Vec<&str>>()
            .join("|"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The registry files in the field are written with these exact words: a renamed variant
    /// must not change them.
    #[test]
    fn registry_text_of_every_value() {
        let texts = |all: Vec<&'static str>| all.join("|");
        assert_eq!(
            texts(Budget::ALL.iter().map(|b| b.as_str()).collect()),
            "supply_group|county"
        );
        assert_eq!(
            texts(Aquifer::ALL.iter().map(|a| a.as_str()).collect()),
            "shallow|confined|karst|hilly"
        );
        assert_eq!(
            texts(Source::ALL.iter().map(|s| s.as_str()).collect()),
            "groundwater|surface|reclaimed|mine"
        );
        assert_eq!(
            texts(Sector::ALL.iter().map(|s| s.as_str()).collect()),
            "public_supply|domestic|industry|service|agriculture|ecology"
        );
        assert_eq!(Sector::PublicSupply.to_string(), "public_supply");
    }

    #[test]
    fn parsing_round_trips_and_ignores_surrounding_spaces() {
        for &s in Sector::ALL {
            assert_eq!(parse::<Sector>(s.as_str()), Ok(s));
        }
        assert_eq!(parse::<Budget>(" supply_group "), Ok(Budget::SupplyGroup));
    }

    #[test]
    fn unknown_values_list_the_valid_ones() {
        let e = parse::<Aquifer>("deep").unwrap_err();
        assert_eq!(
            e.to_string(),
            "'deep': expected shallow|confined|karst|hilly"
        );
        // Case matters: the registry is written in lower case.
        let e = parse::<Source>("Mine").unwrap_err();
        assert_eq!(
            e.to_string(),
            "'Mine': expected groundwater|surface|reclaimed|mine"
        );
    }
}
