//! A small UCUM unit reader: turns a unit expression (`mg`, `[lb_av]`, `g/m`, `cm.m`, `10*3/uL`, `s-1`) into a
//! factor and a dimension vector so that quantities in different units can be compared and converted exactly.
//! Covers SI prefixes, the base units, common clinical and customary units and the calendar keywords of
//! FHIRPath (`week`, `days` …). Units with an offset (`Cel`, `[degF]`) are not convertible.

use rust_decimal::Decimal;
use std::str::FromStr;

/// Exponents of the base dimensions: length, mass, time, angle, temperature, charge, luminosity, amount,
/// calendar month (FHIRPath `year`/`month`, which are not UCUM `a`/`mo`).
pub(crate) type Dims = [i8; 9];

const NONE: Dims = [0; 9];

fn dim(i: usize) -> Dims {
    let mut d = NONE;
    d[i] = 1;
    d
}

/// A unit reduced to base units: value in base units = value × factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Canonical {
    pub(crate) factor: Decimal,
    pub(crate) dims: Dims,
}

struct Atom {
    code: &'static str,
    factor: &'static str,
    /// Either a base dimension index or a definition in other atoms.
    def: Def,
    metric: bool,
}

enum Def {
    Base(usize),
    Dimensionless,
    Of(&'static str),
}

const ATOMS: &[Atom] = &[
    Atom {
        code: "m",
        factor: "1",
        def: Def::Base(0),
        metric: true,
    },
    Atom {
        code: "g",
        factor: "1",
        def: Def::Base(1),
        metric: true,
    },
    Atom {
        code: "s",
        factor: "1",
        def: Def::Base(2),
        metric: true,
    },
    Atom {
        code: "rad",
        factor: "1",
        def: Def::Base(3),
        metric: true,
    },
    Atom {
        code: "K",
        factor: "1",
        def: Def::Base(4),
        metric: true,
    },
    Atom {
        code: "C",
        factor: "1",
        def: Def::Base(5),
        metric: true,
    },
    Atom {
        code: "cd",
        factor: "1",
        def: Def::Base(6),
        metric: true,
    },
    Atom {
        code: "mol",
        factor: "1",
        def: Def::Base(7),
        metric: true,
    },
    Atom {
        code: "eq",
        factor: "1",
        def: Def::Of("mol"),
        metric: true,
    },
    Atom {
        code: "1",
        factor: "1",
        def: Def::Dimensionless,
        metric: false,
    },
    Atom {
        code: "%",
        factor: "0.01",
        def: Def::Dimensionless,
        metric: false,
    },
    Atom {
        code: "[ppm]",
        factor: "0.000001",
        def: Def::Dimensionless,
        metric: false,
    },
    Atom {
        code: "min",
        factor: "60",
        def: Def::Of("s"),
        metric: false,
    },
    Atom {
        code: "h",
        factor: "3600",
        def: Def::Of("s"),
        metric: false,
    },
    Atom {
        code: "d",
        factor: "86400",
        def: Def::Of("s"),
        metric: false,
    },
    Atom {
        code: "wk",
        factor: "604800",
        def: Def::Of("s"),
        metric: false,
    },
    Atom {
        code: "mo",
        factor: "2629800",
        def: Def::Of("s"),
        metric: false,
    },
    Atom {
        code: "a",
        factor: "31557600",
        def: Def::Of("s"),
        metric: false,
    },
    Atom {
        code: "L",
        factor: "0.001",
        def: Def::Of("m3"),
        metric: true,
    },
    Atom {
        code: "l",
        factor: "0.001",
        def: Def::Of("m3"),
        metric: true,
    },
    Atom {
        code: "t",
        factor: "1000000",
        def: Def::Of("g"),
        metric: true,
    },
    Atom {
        code: "Hz",
        factor: "1",
        def: Def::Of("s-1"),
        metric: true,
    },
    Atom {
        code: "N",
        factor: "1000",
        def: Def::Of("g.m/s2"),
        metric: true,
    },
    Atom {
        code: "Pa",
        factor: "1000",
        def: Def::Of("g/(m.s2)"),
        metric: true,
    },
    Atom {
        code: "bar",
        factor: "100000000",
        def: Def::Of("g/(m.s2)"),
        metric: true,
    },
    Atom {
        code: "J",
        factor: "1000",
        def: Def::Of("g.m2/s2"),
        metric: true,
    },
    Atom {
        code: "cal",
        factor: "4184",
        def: Def::Of("g.m2/s2"),
        metric: true,
    },
    Atom {
        code: "W",
        factor: "1000",
        def: Def::Of("g.m2/s3"),
        metric: true,
    },
    Atom {
        code: "A",
        factor: "1",
        def: Def::Of("C/s"),
        metric: true,
    },
    Atom {
        code: "V",
        factor: "1000",
        def: Def::Of("g.m2/(s3.C)"),
        metric: true,
    },
    Atom {
        code: "kat",
        factor: "1",
        def: Def::Of("mol/s"),
        metric: true,
    },
    Atom {
        code: "U",
        factor: "0.000001",
        def: Def::Of("mol/min"),
        metric: true,
    },
    Atom {
        code: "sr",
        factor: "1",
        def: Def::Of("rad2"),
        metric: true,
    },
    Atom {
        code: "deg",
        factor: "0.0174532925199432957692369077",
        def: Def::Of("rad"),
        metric: false,
    },
    Atom {
        code: "mm[Hg]",
        factor: "133322.387415",
        def: Def::Of("g/(m.s2)"),
        metric: false,
    },
    Atom {
        code: "[in_i]",
        factor: "0.0254",
        def: Def::Of("m"),
        metric: false,
    },
    Atom {
        code: "[ft_i]",
        factor: "0.3048",
        def: Def::Of("m"),
        metric: false,
    },
    Atom {
        code: "[yd_i]",
        factor: "0.9144",
        def: Def::Of("m"),
        metric: false,
    },
    Atom {
        code: "[mi_i]",
        factor: "1609.344",
        def: Def::Of("m"),
        metric: false,
    },
    Atom {
        code: "[lb_av]",
        factor: "453.59237",
        def: Def::Of("g"),
        metric: false,
    },
    Atom {
        code: "[oz_av]",
        factor: "28.349523125",
        def: Def::Of("g"),
        metric: false,
    },
    Atom {
        code: "[gal_us]",
        factor: "0.003785411784",
        def: Def::Of("m3"),
        metric: false,
    },
    Atom {
        code: "[pt_us]",
        factor: "0.000473176473",
        def: Def::Of("m3"),
        metric: false,
    },
    Atom {
        code: "[foz_us]",
        factor: "0.0000295735295625",
        def: Def::Of("m3"),
        metric: false,
    },
];

const PREFIXES: &[(&str, i32)] = &[
    ("da", 1),
    ("Y", 24),
    ("Z", 21),
    ("E", 18),
    ("P", 15),
    ("T", 12),
    ("G", 9),
    ("M", 6),
    ("k", 3),
    ("h", 2),
    ("d", -1),
    ("c", -2),
    ("m", -3),
    ("u", -6),
    ("n", -9),
    ("p", -12),
    ("f", -15),
    ("a", -18),
];

/// Maps a FHIRPath calendar keyword to its UCUM code when the two are equal (`week` = `wk`); `year` and
/// `month` map to calendar units that compare only with each other.
pub(crate) fn calendar_keyword(word: &str) -> Option<&'static str> {
    Some(match word {
        "year" | "years" => "year",
        "month" | "months" => "month",
        "week" | "weeks" => "wk",
        "day" | "days" => "d",
        "hour" | "hours" => "h",
        "minute" | "minutes" => "min",
        "second" | "seconds" => "s",
        "millisecond" | "milliseconds" => "ms",
        _ => return None,
    })
}

/// Reads a unit (a UCUM expression or a FHIRPath calendar keyword). `None` when it is not understood.
pub(crate) fn canonical(unit: &str) -> Option<Canonical> {
    if let Some(code) = calendar_keyword(unit) {
        return match code {
            "year" => Some(Canonical {
                factor: Decimal::from(12),
                dims: dim(8),
            }),
            "month" => Some(Canonical {
                factor: Decimal::ONE,
                dims: dim(8),
            }),
            other => canonical(other),
        };
    }
    let mut p = Reader {
        s: unit.as_bytes(),
        i: 0,
        depth: 0,
    };
    let c = p.term()?;
    (p.i == p.s.len()).then_some(c)
}

fn mul(a: Canonical, b: Canonical, sign: i8) -> Option<Canonical> {
    let factor = if sign > 0 {
        a.factor.checked_mul(b.factor)?
    } else {
        a.factor.checked_div(b.factor)?
    };
    let mut dims = a.dims;
    for (d, e) in dims.iter_mut().zip(b.dims) {
        *d = d.checked_add(e.checked_mul(sign)?)?;
    }
    Some(Canonical { factor, dims })
}

fn pow(c: Canonical, exp: i32) -> Option<Canonical> {
    let mut out = Canonical {
        factor: Decimal::ONE,
        dims: NONE,
    };
    for _ in 0..exp.unsigned_abs() {
        out = mul(out, c, if exp > 0 { 1 } else { -1 })?;
    }
    Some(out)
}

struct Reader<'s> {
    s: &'s [u8],
    i: usize,
    depth: u8,
}

impl Reader<'_> {
    fn term(&mut self) -> Option<Canonical> {
        self.depth = self.depth.checked_add(1)?;
        if self.depth > 16 {
            return None;
        }
        let mut acc = if self.s.get(self.i) == Some(&b'/') {
            Canonical {
                factor: Decimal::ONE,
                dims: NONE,
            }
        } else {
            self.component()?
        };
        while let Some(&op) = self.s.get(self.i) {
            let sign = match op {
                b'.' => 1,
                b'/' => -1,
                _ => break,
            };
            self.i += 1;
            let rhs = self.component()?;
            acc = mul(acc, rhs, sign)?;
        }
        self.depth -= 1;
        Some(acc)
    }

    fn component(&mut self) -> Option<Canonical> {
        match self.s.get(self.i)? {
            b'(' => {
                self.i += 1;
                let c = self.term()?;
                if self.s.get(self.i) != Some(&b')') {
                    return None;
                }
                self.i += 1;
                Some(c)
            }
            b'{' => {
                self.skip_annotation()?;
                Some(Canonical {
                    factor: Decimal::ONE,
                    dims: NONE,
                })
            }
            _ => {
                let start = self.i;
                while let Some(&c) = self.s.get(self.i) {
                    if matches!(c, b'.' | b'/' | b'(' | b')' | b'{') {
                        break;
                    }
                    if c == b'[' {
                        while self.s.get(self.i).is_some_and(|&c| c != b']') {
                            self.i += 1;
                        }
                    }
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i.min(self.s.len())]).ok()?;
                if self.s.get(self.i) == Some(&b'{') {
                    self.skip_annotation()?;
                }
                simple_unit(text)
            }
        }
    }

    fn skip_annotation(&mut self) -> Option<()> {
        while self.s.get(self.i)? != &b'}' {
            self.i += 1;
        }
        self.i += 1;
        Some(())
    }
}

/// An atom with optional prefix and exponent: `mg`, `m2`, `s-1`, `10*3`, `[in_i]`.
fn simple_unit(text: &str) -> Option<Canonical> {
    if text.is_empty() {
        return None;
    }
    if let Some(rest) = text
        .strip_prefix("10*")
        .or_else(|| text.strip_prefix("10^"))
    {
        let exp: i32 = rest.parse().ok()?;
        return Some(Canonical {
            factor: pow10(exp)?,
            dims: NONE,
        });
    }
    if let Some(c) = atom_with_prefix(text) {
        return Some(c);
    }
    // Trailing exponent.
    let bytes = text.as_bytes();
    let mut cut = bytes.len();
    while cut > 0 && bytes[cut - 1].is_ascii_digit() {
        cut -= 1;
    }
    if cut > 0 && (bytes[cut - 1] == b'-' || bytes[cut - 1] == b'+') {
        cut -= 1;
    }
    if cut == 0 || cut == bytes.len() {
        return None;
    }
    let exp: i32 = text[cut..].parse().ok()?;
    pow(atom_with_prefix(&text[..cut])?, exp)
}

fn atom_with_prefix(text: &str) -> Option<Canonical> {
    if let Some(a) = ATOMS.iter().find(|a| a.code == text) {
        return atom_canonical(a);
    }
    for (prefix, exp) in PREFIXES {
        if let Some(rest) = text.strip_prefix(prefix) {
            if let Some(a) = ATOMS.iter().find(|a| a.code == rest && a.metric) {
                let base = atom_canonical(a)?;
                return Some(Canonical {
                    factor: base.factor.checked_mul(pow10(*exp)?)?,
                    dims: base.dims,
                });
            }
        }
    }
    None
}

fn atom_canonical(a: &Atom) -> Option<Canonical> {
    let factor = Decimal::from_str(a.factor).ok()?;
    let base = match a.def {
        Def::Base(i) => Canonical {
            factor: Decimal::ONE,
            dims: dim(i),
        },
        Def::Dimensionless => Canonical {
            factor: Decimal::ONE,
            dims: NONE,
        },
        Def::Of(expr) => canonical(expr)?,
    };
    Some(Canonical {
        factor: base.factor.checked_mul(factor)?,
        dims: base.dims,
    })
}

fn pow10(exp: i32) -> Option<Decimal> {
    if exp >= 0 {
        let mut d = Decimal::ONE;
        for _ in 0..exp {
            d = d.checked_mul(Decimal::TEN)?;
        }
        Some(d)
    } else {
        let scale = u32::try_from(-exp).ok()?;
        (scale <= 28).then(|| Decimal::new(1, scale))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factor(u: &str) -> Decimal {
        canonical(u).unwrap().factor.normalize()
    }

    #[test]
    fn reads_common_units() {
        assert_eq!(factor("mg"), Decimal::from_str("0.001").unwrap());
        assert_eq!(factor("wk"), Decimal::from(604_800));
        assert_eq!(
            canonical("cm.m").unwrap().dims,
            canonical("m2").unwrap().dims
        );
        assert_eq!(canonical("m/m").unwrap().dims, canonical("1").unwrap().dims);
        assert_eq!(canonical("10*3/uL").unwrap().dims[0], -3);
        assert_eq!(canonical("mL/min/{1.73_m2}").unwrap().dims[2], -1);
        assert_eq!(canonical("week").unwrap(), canonical("wk").unwrap());
        assert_ne!(
            canonical("year").unwrap().dims,
            canonical("a").unwrap().dims
        );
        assert!(canonical("Cel").is_none());
        assert!(canonical("((((").is_none());
    }
}
