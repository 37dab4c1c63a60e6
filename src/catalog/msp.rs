//! The MSP port range "9082 and up".
//!
//! In a Managed Service Provider deployment the VRAs of one side reach the VRAs of the other side
//! through the Zerto Cloud Connector (ZCC). Each destination VRA needs two ports there (one stands
//! for its 4007 control port, one for its 4008 data port), allocated upwards from 9082. The range
//! is directional: it depends on how many VRAs the *destination* side has. With a provider of 4
//! VRAs and a customer of 3, the provider's VRAs use 6 ports (9082-9087) towards the customer and
//! the customer's VRAs use 8 ports (9082-9089) towards the provider.

/// First port of the range.
pub const FIRST_PORT: u16 = 9082;
/// Ports per destination VRA.
pub const PORTS_PER_VRA: u32 = 2;
/// The name [`plan`] gives the provider's side.
pub const MSP_SIDE: &str = "msp";

/// The inclusive port range that reaches `dest_vras` VRAs: two ports each, from 9082. `None`
/// when there are no VRAs (no port is needed) or the range would run past 65535.
pub fn vra_port_range(dest_vras: u32) -> Option<(u16, u16)> {
    if dest_vras == 0 {
        return None;
    }
    let count = dest_vras.checked_mul(PORTS_PER_VRA)?;
    let last = u32::from(FIRST_PORT).checked_add(count - 1)?;
    Some((FIRST_PORT, u16::try_from(last).ok()?))
}

/// One directional need for the 9082+ range: VRAs of `from_side` reach the VRAs of `to_side`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MspFlow {
    pub from_side: String,
    pub to_side: String,
    /// Inclusive range on the ZCC.
    pub ports: (u16, u16),
    /// Number of ports in `ports` (two per destination VRA).
    pub port_count: u32,
}

/// A provider and its customers, by VRA count.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MspPlan {
    /// VRAs in the provider's (cloud) site.
    pub msp_vras: u32,
    /// Customer name and VRA count.
    pub customers: Vec<(String, u32)>,
}

impl MspPlan {
    /// For each customer, in order: provider → customer, then customer → provider. A direction
    /// whose destination has no VRAs needs no port and is left out; so is one whose range would
    /// not fit below 65536 (that takes more than 28,000 VRAs).
    pub fn flows(&self) -> Vec<MspFlow> {
        let mut out = Vec::with_capacity(self.customers.len() * 2);
        for (name, vras) in &self.customers {
            for (from, to, dest_vras) in [
                (MSP_SIDE, name.as_str(), *vras),
                (name.as_str(), MSP_SIDE, self.msp_vras),
            ] {
                if let Some(ports) = vra_port_range(dest_vras) {
                    out.push(MspFlow {
                        from_side: from.to_string(),
                        to_side: to.to_string(),
                        ports,
                        port_count: u32::from(ports.1 - ports.0) + 1,
                    });
                }
            }
        }
        out
    }
}

/// Shorthand for [`MspPlan::flows`].
pub fn plan(msp_vras: u32, customers: &[(String, u32)]) -> Vec<MspFlow> {
    MspPlan {
        msp_vras,
        customers: customers.to_vec(),
    }
    .flows()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(from: &str, to: &str, ports: (u16, u16), port_count: u32) -> MspFlow {
        MspFlow {
            from_side: from.into(),
            to_side: to.into(),
            ports,
            port_count,
        }
    }

    #[test]
    fn the_documents_worked_example() {
        // Customer A has 3 VRAs, customer B 2, the provider 4.
        let flows = plan(4, &[("A".into(), 3), ("B".into(), 2)]);
        assert_eq!(
            flows,
            vec![
                flow("msp", "A", (9082, 9087), 6),
                flow("A", "msp", (9082, 9089), 8),
                flow("msp", "B", (9082, 9085), 4),
                flow("B", "msp", (9082, 9089), 8),
            ]
        );
    }

    #[test]
    fn range_edges() {
        assert_eq!(vra_port_range(0), None);
        assert_eq!(vra_port_range(1), Some((9082, 9083)));
        // 9082 + 2n - 1 <= 65535  <=>  n <= 28227
        assert_eq!(vra_port_range(28227), Some((9082, 65535)));
        assert_eq!(vra_port_range(28228), None);
        assert_eq!(vra_port_range(u32::MAX), None);
    }

    #[test]
    fn sides_without_vras_need_no_ports() {
        let flows = plan(0, &[("A".into(), 1)]);
        assert_eq!(flows, vec![flow("msp", "A", (9082, 9083), 2)]);
        assert!(plan(3, &[]).is_empty());
    }
}
