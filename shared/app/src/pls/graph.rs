//! The navigation graph: every map's nodes, joined within a map by aisles and
//! across maps by connectors (lifts, stairs, ramps). Routes (8.4, 8.11, 8.21)
//! are its shortest paths (A* with a zero heuristic, i.e. Dijkstra, since a
//! connector's cost is not a distance on any map).

use super::model::{Edge, Node};
use petgraph::graph::{NodeIndex, UnGraph};
use std::collections::HashMap;

#[derive(Debug)]
pub struct NavGraph {
    g: UnGraph<usize, (f64, Option<String>)>,
    nodes: Vec<Node>,
    index: HashMap<String, NodeIndex>,
}

/// A shortest route: its cost and the nodes it visits, in order.
#[derive(Debug)]
pub struct Route<'a> {
    pub cost: f64,
    pub nodes: Vec<&'a Node>,
    /// The connector taken after node i, for every i whose next node is on
    /// another map.
    pub connectors: HashMap<usize, Option<String>>,
}

/// A route's part on one map.
#[derive(Debug, PartialEq)]
pub struct Leg {
    pub map_no: String,
    pub points: Vec<(f64, f64)>,
    /// The connector that ends this leg (none on the last).
    pub via: Option<String>,
}

pub fn distance(a: &Node, b: &Node) -> f64 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

/// An edge's cost: given, or the distance on its map. Errors say why an edge
/// cannot be used.
pub fn edge_cost(e: &Edge, a: &Node, b: &Node) -> Result<f64, String> {
    let cost = match e.cost {
        Some(c) => c,
        None if a.map_no == b.map_no => distance(a, b),
        None => return Err(format!("edge {}~{} joins maps {} and {}: a connector needs a cost", e.from, e.to, a.map_no, b.map_no)),
    };
    if !cost.is_finite() || cost < 0.0 {
        return Err(format!("edge {}~{} has cost {cost}; costs are finite and not negative", e.from, e.to));
    }
    Ok(cost)
}

impl NavGraph {
    pub fn build(nodes: Vec<Node>, edges: &[Edge]) -> Result<NavGraph, String> {
        let mut g = UnGraph::default();
        let mut index = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            if index.insert(n.id.clone(), g.add_node(i)).is_some() {
                return Err(format!("node '{}' is listed twice", n.id));
            }
        }
        for e in edges {
            let a = *index.get(&e.from).ok_or_else(|| format!("edge {}~{}: no node '{}'", e.from, e.to, e.from))?;
            let b = *index.get(&e.to).ok_or_else(|| format!("edge {}~{}: no node '{}'", e.from, e.to, e.to))?;
            let cost = edge_cost(e, &nodes[g[a]], &nodes[g[b]])?;
            g.add_edge(a, b, (cost, e.name.clone()));
        }
        Ok(NavGraph { g, nodes, index })
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.index.get(id).map(|i| &self.nodes[self.g[*i]])
    }

    /// The cheapest route from `from` to `to`, if they are joined at all.
    pub fn shortest(&self, from: &str, to: &str) -> Option<Route<'_>> {
        let (a, b) = (*self.index.get(from)?, *self.index.get(to)?);
        let (cost, path) = petgraph::algo::astar(&self.g, a, |n| n == b, |e| e.weight().0, |_| 0.0)?;
        let nodes: Vec<&Node> = path.iter().map(|i| &self.nodes[self.g[*i]]).collect();
        let mut connectors = HashMap::new();
        for (i, w) in path.windows(2).enumerate() {
            if nodes[i].map_no != nodes[i + 1].map_no {
                // The cheapest of parallel edges is the one the search used.
                let name = self
                    .g
                    .edges_connecting(w[0], w[1])
                    .min_by(|x, y| x.weight().0.total_cmp(&y.weight().0))
                    .and_then(|e| e.weight().1.clone());
                connectors.insert(i, name);
            }
        }
        Some(Route { cost, nodes, connectors })
    }
}

impl Route<'_> {
    /// The route cut where it changes maps.
    pub fn legs(&self) -> Vec<Leg> {
        let mut legs: Vec<Leg> = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            match legs.last_mut() {
                Some(l) if l.map_no == n.map_no && l.via.is_none() => l.points.push((n.x, n.y)),
                _ => legs.push(Leg { map_no: n.map_no.clone(), points: vec![(n.x, n.y)], via: None }),
            }
            if let Some(name) = self.connectors.get(&i) {
                if let Some(l) = legs.last_mut() {
                    l.via = Some(name.clone().unwrap_or_default());
                }
            }
        }
        legs
    }
}

fn coord(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v:.1}")
    }
}

/// One map's route as the seed's single-route string: `M1870, 1510L1890, 1510`.
pub fn svg_path(points: &[(f64, f64)]) -> String {
    points.iter().enumerate().map(|(i, (x, y))| format!("{}{}, {}", if i == 0 { "M" } else { "L" }, coord(*x), coord(*y))).collect()
}

/// A leg of a cross-floor route as the seed's `pathN`: `779, 1251 779, 1285`.
pub fn point_list(points: &[(f64, f64)]) -> String {
    points.iter().map(|(x, y)| format!("{}, {}", coord(*x), coord(*y))).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(id: &str, map: &str, x: f64, y: f64) -> Node {
        Node { id: id.into(), map_no: map.into(), x, y }
    }
    fn e(a: &str, b: &str, cost: Option<f64>) -> Edge {
        Edge { from: a.into(), to: b.into(), cost, name: cost.map(|_| "lift".to_string()) }
    }

    #[test]
    fn the_cheaper_connector_wins_and_legs_split_per_map() {
        let nodes = vec![n("a", "M1", 0.0, 0.0), n("b", "M1", 100.0, 0.0), n("c", "M2", 100.0, 0.0), n("d", "M2", 100.0, 50.0), n("e", "M2", 0.0, 0.0)];
        let edges = vec![e("a", "b", None), e("b", "c", Some(30.0)), e("c", "d", None), e("a", "e", Some(500.0)), e("e", "d", None)];
        let g = NavGraph::build(nodes, &edges).unwrap();
        let r = g.shortest("a", "d").unwrap();
        assert_eq!(r.cost, 100.0 + 30.0 + 50.0);
        let legs = r.legs();
        assert_eq!(legs.len(), 2);
        assert_eq!(legs[0], Leg { map_no: "M1".into(), points: vec![(0.0, 0.0), (100.0, 0.0)], via: Some("lift".into()) });
        assert_eq!(legs[1].points, vec![(100.0, 0.0), (100.0, 50.0)]);
        assert_eq!(svg_path(&legs[1].points), "M100, 0L100, 50");
        assert_eq!(point_list(&legs[0].points), "0, 0 100, 0");
    }

    #[test]
    fn bad_graphs_are_refused_and_unjoined_nodes_have_no_route() {
        assert!(NavGraph::build(vec![n("a", "M1", 0.0, 0.0), n("b", "M2", 0.0, 0.0)], &[e("a", "b", None)]).unwrap_err().contains("needs a cost"));
        assert!(NavGraph::build(vec![n("a", "M1", 0.0, 0.0)], &[e("a", "zz", None)]).unwrap_err().contains("no node 'zz'"));
        assert!(NavGraph::build(vec![n("a", "M1", 0.0, 0.0), n("a", "M1", 1.0, 0.0)], &[]).is_err());
        assert!(NavGraph::build(vec![n("a", "M1", 0.0, 0.0), n("b", "M1", 0.0, 0.0)], &[e("a", "b", Some(-1.0))]).is_err());
        let g = NavGraph::build(vec![n("a", "M1", 0.0, 0.0), n("b", "M1", 3.0, 4.0)], &[]).unwrap();
        assert!(g.shortest("a", "b").is_none());
        let r = g.shortest("a", "a").unwrap();
        assert_eq!((r.cost, r.legs().len()), (0.0, 1));
    }
}
