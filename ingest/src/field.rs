//! The 15 field types a column can be mapped to: the 14 of the original
//! product plus `customer_id`, a source system's own customer identifier
//! (UCI Online Retail's `CustomerID`, a CRM's client number), which is the
//! strongest identity key when an export has one.

use std::fmt;
use std::str::FromStr;

use crate::IngestError;

/// A semantic field of customer/order data that an imported column can be
/// mapped to. Serialized (serde, [`Display`](fmt::Display), [`FromStr`]) as
/// its snake_case name, e.g. `full_name`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The source system's own identifier of the customer (not ours).
    CustomerId,
    /// A customer's e-mail address.
    Email,
    /// A customer's full name ("Rahim Uddin").
    FullName,
    /// A customer's first (given) name.
    FirstName,
    /// A customer's last (family) name.
    LastName,
    /// A customer's phone number.
    Phone,
    /// A customer's city (or thana, upazila, district, zone).
    City,
    /// A customer's country.
    Country,
    /// The order (invoice) identifier.
    OrderId,
    /// When the order was placed.
    OrderDate,
    /// The money value of the row: an order total, or a line/unit price
    /// when that is all the source has.
    Amount,
    /// The product (line item) name or description.
    ProductName,
    /// The order's status (paid, cancelled, delivered, ...).
    Status,
    /// The quantity of the line item.
    Quantity,
    /// The ISO 4217 currency of the amount.
    Currency,
}

impl Field {
    /// All 15 fields, in declaration order.
    pub const ALL: [Field; 15] = [
        Field::CustomerId,
        Field::Email,
        Field::FullName,
        Field::FirstName,
        Field::LastName,
        Field::Phone,
        Field::City,
        Field::Country,
        Field::OrderId,
        Field::OrderDate,
        Field::Amount,
        Field::ProductName,
        Field::Status,
        Field::Quantity,
        Field::Currency,
    ];

    /// The field's snake_case name, the same as its serde name.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::CustomerId => "customer_id",
            Field::Email => "email",
            Field::FullName => "full_name",
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::Phone => "phone",
            Field::City => "city",
            Field::Country => "country",
            Field::OrderId => "order_id",
            Field::OrderDate => "order_date",
            Field::Amount => "amount",
            Field::ProductName => "product_name",
            Field::Status => "status",
            Field::Quantity => "quantity",
            Field::Currency => "currency",
        }
    }
}

impl fmt::Display for Field {
    /// Writes [`Field::as_str`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Field {
    type Err = IngestError;

    /// Parses a snake_case field name (surrounding whitespace ignored, exact
    /// case otherwise); the error lists the valid names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        Field::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| IngestError::UnknownField {
                name: name.to_owned(),
                valid: Field::ALL.map(Field::as_str).join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str_display_and_serde() {
        for f in Field::ALL {
            assert_eq!(f.as_str().parse::<Field>().ok(), Some(f));
            assert_eq!(f.to_string(), f.as_str());
            let json = serde_json::to_string(&f).expect("serialize");
            assert_eq!(json, format!("\"{}\"", f.as_str()));
        }
    }

    #[test]
    fn unknown_name_lists_valid_names() {
        let err = "fullname".parse::<Field>().expect_err("unknown");
        let msg = err.to_string();
        assert!(msg.contains("'fullname'"), "{msg}");
        assert!(
            msg.contains("full_name") && msg.contains("currency"),
            "{msg}"
        );
    }
}
