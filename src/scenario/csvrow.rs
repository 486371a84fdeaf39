//! Reading one CSV row into a raw serde structure.
//!
//! A network CSV has one column per key; a nested key is flattened with a dot (`section.shape`,
//! `decay_per_day.COD`). The header is parsed once into [`Columns`]; each row is then deserialized straight
//! into the target structure by a small serde `Deserializer` that walks the columns, skips empty cells (an
//! empty cell means the key is absent) and parses a cell only as the type the structure asks for. No
//! intermediate tree is built, so a 100,000-row file costs one pass and a few small allocations per row.

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use std::fmt;

/// An error while reading one row: the field (dotted key) if known, and the message.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    /// Dotted key of the offending column, or empty when the error is about the row as a whole.
    pub field: String,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RowError {}

impl de::Error for RowError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        RowError {
            field: String::new(),
            message: msg.to_string(),
        }
    }
}

#[derive(Debug, Clone)]
enum Entry {
    Leaf {
        key: String,
        col: usize,
    },
    Group {
        key: String,
        subs: Vec<(String, usize)>,
    },
}

/// The header of a network CSV, grouped by top-level key.
#[derive(Debug, Clone)]
pub struct Columns {
    entries: Vec<Entry>,
}

impl Columns {
    /// Group the header's column names. Returns the columns and the header problems found (column index,
    /// name, message); a problem column is left out.
    pub fn parse(header: &[&str]) -> (Columns, Vec<(usize, String, String)>) {
        let mut entries: Vec<Entry> = Vec::new();
        let mut problems = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (col, raw) in header.iter().enumerate() {
            let name = raw.trim();
            if name.is_empty() {
                problems.push((
                    col,
                    String::new(),
                    "a column name (the header cell is empty)".into(),
                ));
                continue;
            }
            if !seen.insert(name.to_string()) {
                problems.push((
                    col,
                    name.to_string(),
                    "each column once (this column is repeated)".into(),
                ));
                continue;
            }
            match name.split_once('.') {
                None => entries.push(Entry::Leaf {
                    key: name.to_string(),
                    col,
                }),
                Some((head, tail)) => {
                    if head.is_empty() || tail.is_empty() || tail.contains('.') {
                        problems.push((
                            col,
                            name.to_string(),
                            "a key, or a table key and a sub-key joined by one dot (e.g. `section.shape`)"
                                .into(),
                        ));
                        continue;
                    }
                    let existing = entries.iter_mut().find_map(|e| match e {
                        Entry::Group { key, subs } if key == head => Some(subs),
                        _ => None,
                    });
                    match existing {
                        Some(subs) => subs.push((tail.to_string(), col)),
                        None => {
                            if entries
                                .iter()
                                .any(|e| matches!(e, Entry::Leaf { key, .. } if key == head))
                            {
                                problems.push((
                                    col,
                                    name.to_string(),
                                    format!(
                                        "either a column `{head}` or columns `{head}.…`, not both"
                                    ),
                                ));
                                continue;
                            }
                            entries.push(Entry::Group {
                                key: head.to_string(),
                                subs: vec![(tail.to_string(), col)],
                            })
                        }
                    }
                }
            }
        }
        // a leaf given after a group of the same name
        let mut groups = std::collections::HashSet::new();
        for e in &entries {
            if let Entry::Group { key, .. } = e {
                groups.insert(key.clone());
            }
        }
        entries.retain(|e| match e {
            Entry::Leaf { key, col } if groups.contains(key) => {
                problems.push((
                    *col,
                    key.clone(),
                    format!("either a column `{key}` or columns `{key}.…`, not both"),
                ));
                false
            }
            _ => true,
        });
        (Columns { entries }, problems)
    }

    /// Leave column `col` out (a problem column already reported).
    pub fn remove_col(&mut self, col: usize) {
        self.entries.retain_mut(|e| match e {
            Entry::Leaf { col: c, .. } => *c != col,
            Entry::Group { subs, .. } => {
                subs.retain(|(_, c)| *c != col);
                !subs.is_empty()
            }
        });
    }

    /// Deserialize one row (`cells` indexed by column) into `T`.
    pub fn row<T: de::DeserializeOwned>(&self, cells: &[&str]) -> Result<T, RowError> {
        let mut map = RowMap {
            entries: &self.entries,
            cells,
            next: 0,
            pending: None,
            current: "",
        };
        let r = T::deserialize(RowDe { map: &mut map });
        r.map_err(|mut e| {
            if e.field.is_empty() {
                e.field = map.current.to_string();
            }
            e
        })
    }
}

fn cell<'a>(cells: &[&'a str], col: usize) -> &'a str {
    cells.get(col).map(|s| s.trim()).unwrap_or("")
}

struct RowMap<'a, 'c> {
    entries: &'a [Entry],
    cells: &'a [&'c str],
    next: usize,
    pending: Option<&'a Entry>,
    current: &'a str,
}

impl<'de> MapAccess<'de> for RowMap<'_, '_> {
    type Error = RowError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, RowError> {
        while self.next < self.entries.len() {
            let e = &self.entries[self.next];
            self.next += 1;
            let present = match e {
                Entry::Leaf { col, .. } => !cell(self.cells, *col).is_empty(),
                Entry::Group { subs, .. } => {
                    subs.iter().any(|(_, c)| !cell(self.cells, *c).is_empty())
                }
            };
            if !present {
                continue;
            }
            let key = match e {
                Entry::Leaf { key, .. } | Entry::Group { key, .. } => key.as_str(),
            };
            self.current = key;
            self.pending = Some(e);
            let de: de::value::StrDeserializer<'_, RowError> = key.into_deserializer();
            return seed.deserialize(de).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, RowError> {
        let cells = self.cells;
        match self.pending.take() {
            Some(Entry::Leaf { col, .. }) => seed.deserialize(CellDe(cell(cells, *col))),
            Some(Entry::Group { key, subs }) => {
                let mut sub = SubMap {
                    subs,
                    cells,
                    next: 0,
                    pending: None,
                    current: "",
                };
                let r = seed.deserialize(GroupDe { map: &mut sub });
                r.map_err(|mut e| {
                    if e.field.is_empty() && !sub.current.is_empty() {
                        e.field = format!("{key}.{}", sub.current);
                    } else if e.field.is_empty() {
                        e.field = key.clone();
                    } else {
                        e.field = format!("{key}.{}", e.field);
                    }
                    e
                })
            }
            None => Err(de::Error::custom("value without a key")),
        }
    }
}

struct SubMap<'a, 'c> {
    subs: &'a [(String, usize)],
    cells: &'a [&'c str],
    next: usize,
    pending: Option<usize>,
    current: &'a str,
}

impl<'de> MapAccess<'de> for SubMap<'_, '_> {
    type Error = RowError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, RowError> {
        while self.next < self.subs.len() {
            let (key, col) = &self.subs[self.next];
            self.next += 1;
            if cell(self.cells, *col).is_empty() {
                continue;
            }
            self.current = key;
            self.pending = Some(*col);
            let de: de::value::StrDeserializer<'_, RowError> = key.as_str().into_deserializer();
            return seed.deserialize(de).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, RowError> {
        match self.pending.take() {
            Some(col) => seed.deserialize(CellDe(cell(self.cells, col))),
            None => Err(de::Error::custom("value without a key")),
        }
    }
}

struct RowDe<'m, 'a, 'c> {
    map: &'m mut RowMap<'a, 'c>,
}

impl<'de> de::Deserializer<'de> for RowDe<'_, '_, '_> {
    type Error = RowError;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        visitor.visit_map(self.map)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

struct GroupDe<'m, 'a, 'c> {
    map: &'m mut SubMap<'a, 'c>,
}

impl<'de> de::Deserializer<'de> for GroupDe<'_, '_, '_> {
    type Error = RowError;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        visitor.visit_map(self.map)
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        visitor.visit_some(self)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// One non-empty cell, parsed as whatever the structure asks for.
struct CellDe<'c>(&'c str);

impl CellDe<'_> {
    fn number(&self) -> Result<f64, RowError> {
        self.0
            .parse::<f64>()
            .map_err(|_| de::Error::custom(format!("`{}` is not a number", self.0)))
    }
}

impl<'de> de::Deserializer<'de> for CellDe<'_> {
    type Error = RowError;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        visitor.visit_str(self.0)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        visitor.visit_f64(self.number()?)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        visitor.visit_f64(self.number()?)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        let v = self
            .0
            .parse::<i64>()
            .map_err(|_| de::Error::custom(format!("`{}` is not an integer", self.0)))?;
        visitor.visit_i64(v)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        let v = self.0.parse::<u64>().map_err(|_| {
            de::Error::custom(format!("`{}` is not a non-negative integer", self.0))
        })?;
        visitor.visit_u64(v)
    }
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        match self.0 {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            other => Err(de::Error::custom(format!("`{other}` is not true or false"))),
        }
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        visitor.visit_some(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, RowError> {
        Err(de::Error::custom(format!(
            "`{}`: a list cannot be given in a CSV cell (write it in the TOML file)",
            self.0
        )))
    }
    fn deserialize_map<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, RowError> {
        Err(de::Error::custom(format!(
            "`{}`: a table is written as columns `key.sub_key`, one per entry",
            self.0
        )))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, RowError> {
        self.deserialize_map(visitor)
    }
    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u32 u128 char str string bytes byte_buf unit
        unit_struct newtype_struct tuple tuple_struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::raw::RawReach;

    #[test]
    fn flattened_columns_fill_nested_tables() {
        let header = [
            "id",
            "from",
            "to",
            "length_m",
            "section.shape",
            "section.width_m",
            "decay_per_day.COD",
        ];
        let (cols, problems) = Columns::parse(&header);
        assert!(problems.is_empty());
        let r: RawReach = cols
            .row(&["R1", "A", "7", "1500.5", "rectangle", "12", ""])
            .unwrap();
        assert_eq!(r.id.unwrap().0, "R1");
        assert_eq!(r.to.unwrap().0, "7");
        assert_eq!(r.length_m, Some(1500.5));
        let s = r.section.unwrap();
        assert_eq!(s.shape.as_deref(), Some("rectangle"));
        assert_eq!(s.width_m, Some(12.0));
        assert!(r.decay_per_day.is_none(), "an all-empty group is absent");
    }

    #[test]
    fn bad_number_names_the_dotted_field() {
        let (cols, _) = Columns::parse(&["id", "section.width_m"]);
        let e = cols.row::<RawReach>(&["R1", "wide"]).unwrap_err();
        assert_eq!(e.field, "section.width_m");
        assert!(
            e.message.contains("`wide` is not a number"),
            "{}",
            e.message
        );
    }

    #[test]
    fn unknown_column_lists_valid_keys() {
        let (cols, _) = Columns::parse(&["id", "manning"]);
        let e = cols.row::<RawReach>(&["R1", "0.03"]).unwrap_err();
        assert!(
            e.message.contains("unknown field `manning`"),
            "{}",
            e.message
        );
        assert!(e.message.contains("manning_n"), "{}", e.message);
    }
}
