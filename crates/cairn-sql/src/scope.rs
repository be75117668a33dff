//! Scopes: the columns a query's expressions can name, in the order of the rows they run over.
//!
//! The scope of a `FROM` clause is the columns of its tables, left to right, each under its
//! table's name or alias: exactly the layout of the rows the joins produce, so a column found
//! at position `i` of the scope is [`crate::expr::Expr::Column`]`(i)`. A name is resolved as
//! PostgreSQL resolves it: `t.c` is column `c` of the table (or alias) `t`; a bare `c` must be
//! a column of exactly one table (`42702` when several have it), and a column merged by
//! `JOIN … USING` or `NATURAL JOIN` counts once. `*` expands to [`Scope::star`]: the merged
//! columns first, then the others, as PostgreSQL orders them.

use crate::error::{Error, Result, SqlState};
use crate::value::DataType;

/// A column a scope can name.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeColumn {
    /// The table name or alias it is qualified by; `None` for a derived column that has none.
    pub qualifier: Option<String>,
    pub name: String,
    pub data_type: DataType,
    /// Hidden from unqualified names and `*`: the right-hand copy of a `USING` column.
    pub merged_away: bool,
}

/// The columns of one query level's FROM clause.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    pub columns: Vec<ScopeColumn>,
    /// The positions `*` expands to, in order.
    pub star: Vec<usize>,
}

impl Scope {
    /// The scope of one table (or derived table) named `qualifier`.
    pub fn of_table(
        qualifier: &str,
        columns: impl IntoIterator<Item = (String, DataType)>,
    ) -> Scope {
        let columns: Vec<ScopeColumn> = columns
            .into_iter()
            .map(|(name, data_type)| ScopeColumn {
                qualifier: Some(qualifier.to_string()),
                name,
                data_type,
                merged_away: false,
            })
            .collect();
        let star = (0..columns.len()).collect();
        Scope { columns, star }
    }

    /// The scope of `left` joined with `right`: their columns side by side.
    pub fn join(left: Scope, right: Scope) -> Scope {
        let offset = left.columns.len();
        let mut columns = left.columns;
        columns.extend(right.columns);
        let mut star = left.star;
        star.extend(right.star.into_iter().map(|i| i + offset));
        Scope { columns, star }
    }

    /// Whether some table of the scope is named `qualifier`.
    pub fn has_qualifier(&self, qualifier: &str) -> bool {
        self.columns
            .iter()
            .any(|c| c.qualifier.as_deref() == Some(qualifier))
    }

    /// The position of the column `name` (of `qualifier`, if given); `Ok(None)` if the scope
    /// has no such column, `42702` if an unqualified name is ambiguous.
    pub fn find(&self, qualifier: Option<&str>, name: &str) -> Result<Option<usize>> {
        let mut found = None;
        for (i, column) in self.columns.iter().enumerate() {
            let matches = match qualifier {
                Some(q) => column.qualifier.as_deref() == Some(q) && column.name == name,
                None => !column.merged_away && column.name == name,
            };
            if !matches {
                continue;
            }
            if found.is_some() {
                return Err(Error::new(
                    SqlState::AMBIGUOUS_COLUMN,
                    format!(
                        "column reference \"{}\" is ambiguous",
                        match qualifier {
                            Some(q) => format!("{q}.{name}"),
                            None => name.to_string(),
                        }
                    ),
                ));
            }
            found = Some(i);
        }
        Ok(found)
    }

    /// The positions `qualifier.*` expands to; `None` if no table is named `qualifier`.
    pub fn star_of(&self, qualifier: &str) -> Option<Vec<usize>> {
        let positions: Vec<usize> = (0..self.columns.len())
            .filter(|&i| self.columns[i].qualifier.as_deref() == Some(qualifier))
            .collect();
        (!positions.is_empty() || self.has_qualifier(qualifier)).then_some(positions)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn two_tables() -> Scope {
        Scope::join(
            Scope::of_table(
                "a",
                [("x".into(), DataType::Int4), ("y".into(), DataType::Text)],
            ),
            Scope::of_table("b", [("x".into(), DataType::Int8)]),
        )
    }

    #[test]
    fn names_resolve_to_positions_of_the_joined_row() {
        let scope = two_tables();
        assert_eq!(scope.find(Some("b"), "x").unwrap(), Some(2));
        assert_eq!(scope.find(None, "y").unwrap(), Some(1));
        assert_eq!(scope.find(None, "z").unwrap(), None);
        assert_eq!(scope.find(Some("c"), "x").unwrap(), None);
    }

    #[test]
    fn an_unqualified_name_of_two_tables_is_ambiguous() {
        let error = two_tables().find(None, "x").unwrap_err();
        assert_eq!(error.state, SqlState::AMBIGUOUS_COLUMN);
        assert_eq!(error.message, "column reference \"x\" is ambiguous");
    }

    #[test]
    fn a_merged_column_counts_once() {
        let mut scope = two_tables();
        scope.columns[2].merged_away = true;
        assert_eq!(scope.find(None, "x").unwrap(), Some(0));
        assert_eq!(scope.find(Some("b"), "x").unwrap(), Some(2));
    }
}
