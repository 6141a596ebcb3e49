//! The order tables are filled in: every table after the tables its foreign keys point at, so
//! that each inserted row finds its parents (rows referring to their own table, like an invitee
//! to its inviter, come in id order, parents first).

use super::Table;

/// `tables` parents first, ties by name; an error naming the tables of a foreign-key cycle.
pub fn parents_first(tables: &[Table]) -> Result<Vec<&Table>, String> {
    let mut left: Vec<&Table> = tables.iter().collect();
    left.sort_by(|a, b| a.name.cmp(&b.name));
    let mut ordered: Vec<&Table> = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let ready = left.iter().position(|t| {
            t.parents.iter().all(|p| {
                *p == t.name
                    || ordered.iter().any(|o| o.name == *p)
                    // A table outside the copy (none today) cannot be waited for.
                    || !tables.iter().any(|o| o.name == *p)
            })
        });
        match ready {
            Some(i) => ordered.push(left.remove(i)),
            None => {
                let names: Vec<&str> = left.iter().map(|t| t.name.as_str()).collect();
                return Err(format!(
                    "the foreign keys of these tables form a cycle: {}",
                    names.join(", ")
                ));
            }
        }
    }
    Ok(ordered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, parents: &[&str]) -> Table {
        Table {
            name: name.into(),
            columns: Vec::new(),
            key: Vec::new(),
            parents: parents.iter().map(|p| (*p).to_owned()).collect(),
            generated_id: None,
        }
    }

    fn names(tables: &[&Table]) -> Vec<String> {
        tables.iter().map(|t| t.name.clone()).collect()
    }

    #[test]
    fn parents_come_first_and_self_references_do_not_block() {
        let tables = [
            table("tokens", &["token_families"]),
            table("token_families", &["clients", "users"]),
            table("clients", &["users"]),
            table("users", &["users"]),
            table("settings", &[]),
        ];
        let order = parents_first(&tables).expect("order");
        assert_eq!(
            names(&order),
            ["settings", "users", "clients", "token_families", "tokens"]
        );
    }

    #[test]
    fn a_cycle_is_named() {
        let tables = [table("a", &["b"]), table("b", &["a"]), table("c", &[])];
        let err = parents_first(&tables).expect_err("cycle");
        assert!(err.contains("a, b"), "{err}");
    }
}
