//! Which schema a database has, against the migrations this release knows: the one rule behind
//! `keyward migrate --dry-run`, the refusal to run on a database a newer release migrated, and
//! `migrate-data`'s check of its source.

use serde::Serialize;

/// One migration this release carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Migration {
    pub version: i64,
    pub description: String,
}

/// The versions a database's migration history holds, and the migrations this release knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaState {
    /// Versions recorded as applied, ascending.
    pub applied: Vec<i64>,
    /// Every migration of this release, ascending.
    pub known: Vec<Migration>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "this database was migrated by a newer Keyward (schema {found}; this release knows up \
         to {known}): run that release or newer"
    )]
    Newer { found: i64, known: i64 },
    #[error(
        "this database's schema is older than this release's ({pending} migration(s) pending, \
         up to schema {known}): run `keyward migrate` on it first"
    )]
    Older { pending: usize, known: i64 },
}

impl SchemaState {
    /// The newest version this release knows (0 when it knows none).
    pub fn latest_known(&self) -> i64 {
        self.known.iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// The migrations not applied yet, in the order they would run.
    pub fn pending(&self) -> Vec<&Migration> {
        self.known
            .iter()
            .filter(|m| !self.applied.contains(&m.version))
            .collect()
    }

    /// Refuses a database whose history holds a version this release does not know: it was
    /// migrated by a newer release, whose schema this one may misread or damage.
    pub fn check_not_newer(&self) -> Result<(), SchemaError> {
        let unknown = self
            .applied
            .iter()
            .filter(|v| !self.known.iter().any(|m| m.version == **v))
            .max();
        match unknown {
            Some(&found) => Err(SchemaError::Newer {
                found,
                known: self.latest_known(),
            }),
            None => Ok(()),
        }
    }

    /// Refuses anything but exactly this release's schema (a newer one first, then an older).
    pub fn check_current(&self) -> Result<(), SchemaError> {
        self.check_not_newer()?;
        match self.pending().len() {
            0 => Ok(()),
            pending => Err(SchemaError::Older {
                pending,
                known: self.latest_known(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(applied: &[i64]) -> SchemaState {
        SchemaState {
            applied: applied.to_vec(),
            known: (1..=3)
                .map(|version| Migration {
                    version,
                    description: format!("m{version}"),
                })
                .collect(),
        }
    }

    #[test]
    fn pending_lists_what_is_not_applied_in_order() {
        let versions = |s: &SchemaState| s.pending().iter().map(|m| m.version).collect::<Vec<_>>();
        assert_eq!(versions(&state(&[])), vec![1, 2, 3]);
        assert_eq!(versions(&state(&[1])), vec![2, 3]);
        assert!(versions(&state(&[1, 2, 3])).is_empty());
    }

    #[test]
    fn an_unknown_applied_version_is_a_newer_schema() {
        assert_eq!(state(&[1, 2, 3]).check_not_newer(), Ok(()));
        assert_eq!(state(&[]).check_not_newer(), Ok(()));
        let err = state(&[1, 2, 3, 5, 4])
            .check_not_newer()
            .expect_err("newer");
        assert_eq!(err, SchemaError::Newer { found: 5, known: 3 });
        assert!(
            err.to_string()
                .contains("newer Keyward (schema 5; this release knows up to 3)")
        );
    }

    #[test]
    fn current_means_neither_newer_nor_older() {
        assert_eq!(state(&[1, 2, 3]).check_current(), Ok(()));
        assert_eq!(
            state(&[1]).check_current(),
            Err(SchemaError::Older {
                pending: 2,
                known: 3
            })
        );
        assert!(matches!(
            state(&[1, 9]).check_current(),
            Err(SchemaError::Newer { found: 9, .. })
        ));
    }
}
