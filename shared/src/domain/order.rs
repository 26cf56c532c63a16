//! What kind of order a check is. The order type picks the tax rates (see `tax`), and kitchen
//! tickets show it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How the guest receives the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderType {
    /// Eaten at a table in the restaurant.
    DineIn,
    /// Collected at the counter by the guest.
    Takeout,
    /// Taken to the guest by the restaurant or a courier.
    Delivery,
    /// Placed through an online ordering channel.
    Online,
}

impl OrderType {
    /// Every order type, in a fixed order.
    pub const ALL: [OrderType; 4] = [
        OrderType::DineIn,
        OrderType::Takeout,
        OrderType::Delivery,
        OrderType::Online,
    ];

    /// The name used in files and on the wire (`dine_in`, `takeout`, …).
    pub fn key(self) -> &'static str {
        match self {
            OrderType::DineIn => "dine_in",
            OrderType::Takeout => "takeout",
            OrderType::Delivery => "delivery",
            OrderType::Online => "online",
        }
    }
}

impl fmt::Display for OrderType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OrderType::DineIn => "dine-in",
            OrderType::Takeout => "takeout",
            OrderType::Delivery => "delivery",
            OrderType::Online => "online",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_matches_the_serialised_name() {
        for order_type in OrderType::ALL {
            let json = serde_json::to_string(&order_type).expect("serialise");
            assert_eq!(json, format!("\"{}\"", order_type.key()));
        }
    }
}
