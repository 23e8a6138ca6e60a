//! The actions an API key can grant: one table, one line per action.
//!
//! Each line declares the `Action` variant, its name in keys (`actions`),
//! what it allows, and a marker type `needs::Variant` that a handler takes as
//! `Authorized<needs::Variant>` to declare the action its route requires.

/// Declares [`Action`], its table, and one marker type per action in [`needs`].
macro_rules! actions {
    ($($variant:ident = $name:literal, $meaning:literal;)*) => {
        /// Something a key may be allowed to do.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Action {
            $($variant,)*
        }

        impl Action {
            /// Every action, in table order.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// What the action allows, for the documentation.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Action::$variant => $meaning,)*
                }
            }

            pub fn parse(name: &str) -> Option<Action> {
                match name {
                    $($name => Some(Action::$variant),)*
                    _ => None,
                }
            }
        }

        /// One type per action: `Authorized<needs::WorkoutsRead>` in a
        /// handler's arguments makes its route require `workouts.read`.
        pub mod needs {
            $(
                #[doc = concat!("Requires `", $name, "`.")]
                #[derive(Debug, Clone, Copy)]
                pub struct $variant;

                impl super::Needs for $variant {
                    const ACTION: super::Action = super::Action::$variant;
                }
            )*
        }
    };
}

/// Ties a marker type to the action it stands for.
pub trait Needs: Send + Sync + 'static {
    const ACTION: Action;
}

actions! {
    WorkoutsCreate = "workouts.create", "log workouts (`POST /workouts`) and import CSV files (`POST /imports`)";
    WorkoutsRead = "workouts.read", "read entries, history, the exercise list, exports and imports (`GET /workouts/{id}`, `GET /workouts/history`, `GET /workouts/exercises`, `GET /workouts/export`, `GET /imports/{id}`)";
    WorkoutsUpdate = "workouts.update", "correct an entry (`PUT /workouts/{id}`)";
    WorkoutsDelete = "workouts.delete", "delete an entry, or erase a client's workouts (`DELETE /workouts/{id}`, `DELETE /users/{userId}/workouts`)";
    PrsRead = "prs.read", "read personal records and the PR board (`GET /workouts/prs`)";
    InsightsRead = "insights.read", "list and run insight plugins and draw their charts (`GET /insights...`)";
    MetricsRead = "metrics.read", "read the service's Prometheus metrics (`GET /metrics`)";
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_and_is_named_resource_dot_verb() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(*action));
            let (resource, verb) = action.as_str().split_once('.').expect("resource.verb");
            assert!(!resource.is_empty() && !verb.is_empty());
            assert!(!action.meaning().is_empty());
        }
        assert_eq!(Action::parse("*"), None);
        assert_eq!(Action::parse("workouts.nuke"), None);
    }

    #[test]
    fn markers_name_their_action() {
        assert_eq!(<needs::PrsRead as Needs>::ACTION, Action::PrsRead);
        assert_eq!(
            <needs::WorkoutsCreate as Needs>::ACTION.as_str(),
            "workouts.create"
        );
    }
}
