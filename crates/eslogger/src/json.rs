//! Typed access to the parsed line with the JSON path in every error, so a bad field names itself.

use serde_json::{Map, Value};

use crate::mapper::MapError;

#[derive(Clone)]
pub(crate) struct Node<'a> {
    pub(crate) value: &'a Value,
    path: String,
}

impl<'a> Node<'a> {
    pub(crate) fn root(value: &'a Value) -> Self {
        Node {
            value,
            path: String::new(),
        }
    }

    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub(crate) fn error(&self, expected: &str) -> MapError {
        let found = match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        let path = if self.path.is_empty() {
            "line"
        } else {
            &self.path
        };
        MapError::field(path, &format!("expected {expected}, found {found}"))
    }

    /// The child at `key`; `None` when absent or null (eslogger writes null for "not applicable").
    pub(crate) fn opt(&self, key: &str) -> Result<Option<Node<'a>>, MapError> {
        match self.object()?.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => Ok(Some(Node {
                value,
                path: self.child_path(key),
            })),
        }
    }

    /// The child at `key`, which must be present and not null.
    pub(crate) fn get(&self, key: &str) -> Result<Node<'a>, MapError> {
        self.opt(key)?
            .ok_or_else(|| MapError::field(&self.child_path(key), "missing"))
    }

    pub(crate) fn object(&self) -> Result<&'a Map<String, Value>, MapError> {
        self.value
            .as_object()
            .ok_or_else(|| self.error("an object"))
    }

    pub(crate) fn str(&self) -> Result<&'a str, MapError> {
        self.value.as_str().ok_or_else(|| self.error("a string"))
    }

    pub(crate) fn u64(&self) -> Result<u64, MapError> {
        self.value
            .as_u64()
            .ok_or_else(|| self.error("a non-negative integer"))
    }

    pub(crate) fn i64(&self) -> Result<i64, MapError> {
        self.value.as_i64().ok_or_else(|| self.error("an integer"))
    }

    pub(crate) fn bool(&self) -> Result<bool, MapError> {
        self.value.as_bool().ok_or_else(|| self.error("a boolean"))
    }

    pub(crate) fn array(&self) -> Result<&'a Vec<Value>, MapError> {
        self.value.as_array().ok_or_else(|| self.error("an array"))
    }

    pub(crate) fn strings(&self) -> Result<Vec<String>, MapError> {
        let items = self.array()?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item.as_str() {
                Some(text) => out.push(text.to_string()),
                None => return Err(self.error("an array of strings")),
            }
        }
        Ok(out)
    }

    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<&'a str>, MapError> {
        self.opt(key)?.map(|n| n.str()).transpose()
    }

    pub(crate) fn opt_u64(&self, key: &str) -> Result<Option<u64>, MapError> {
        self.opt(key)?.map(|n| n.u64()).transpose()
    }

    pub(crate) fn opt_i64(&self, key: &str) -> Result<Option<i64>, MapError> {
        self.opt(key)?.map(|n| n.i64()).transpose()
    }

    pub(crate) fn opt_bool(&self, key: &str) -> Result<Option<bool>, MapError> {
        self.opt(key)?.map(|n| n.bool()).transpose()
    }
}
