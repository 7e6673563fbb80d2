//! The registry's enumerations: budget, aquifer type, water source and use sector, with the text
//! the registry CSVs use for them and the Chinese labels outputs print.

use std::fmt;

macro_rules! enum_field {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }
        impl $name {
            /// All values, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The value as written in the registry.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s.trim() { $($text => Some($name::$variant),)+ _ => None }
            }
            pub fn choices() -> String {
                [$($text),+].join("|")
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

enum_field!(
    /// Which of the plan's two groundwater budgets an intake draws on.
    Budget { SupplyGroup = "supply_group", County = "county" }
);
enum_field!(
    /// Aquifer type, as the Ministry lists overloaded areas.
    Aquifer { Shallow = "shallow", Confined = "confined", Karst = "karst", Hilly = "hilly" }
);
enum_field!(
    /// Water source of an intake.
    Source { Groundwater = "groundwater", Surface = "surface", Reclaimed = "reclaimed", Mine = "mine" }
);
enum_field!(
    /// Use sector.
    Sector {
        PublicSupply = "public_supply",
        Domestic = "domestic",
        Industry = "industry",
        Service = "service",
        Agriculture = "agriculture",
        Ecology = "ecology",
    }
);

impl Budget {
    /// Chinese label as the plan writes it.
    pub fn label(self) -> &'static str {
        match self {
            Budget::SupplyGroup => "太原供水集团",
            Budget::County => "各县（市、区）",
        }
    }
}

impl Aquifer {
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
