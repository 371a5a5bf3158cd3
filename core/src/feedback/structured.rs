//! Just enough of Structured Field Values (RFC 8941, and the Date and Display String types of
//! RFC 9651) to read a List of Items with Parameters, without allocation.
//!
//! A [`List`] walks a field value member by member and checks the full syntax as it goes; any
//! error ends the walk with the byte offset where it happened. Parameters are checked when
//! their member is read, then walked again on demand by [`Params`].

/// A bare item, borrowed from the field value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bare<'a> {
    /// An Integer, at most 15 digits.
    Integer(i64),
    /// A Decimal, in thousandths.
    Decimal(i64),
    /// A String's raw content between the quotes, escapes (`\"`, `\\`) still in place.
    String(&'a [u8]),
    /// A Token.
    Token(&'a [u8]),
    /// A Byte Sequence, still in base 64.
    Bytes(&'a [u8]),
    /// A Boolean.
    Boolean(bool),
    /// A Date (RFC 9651), seconds since the Unix epoch.
    Date(i64),
    /// A Display String (RFC 9651), still percent-encoded.
    DisplayString(&'a [u8]),
}

/// One member of a List: an item (or an inner list, which has no single value) and its
/// parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Member<'a> {
    /// The member's value; `None` for an inner list.
    pub(crate) item: Option<Bare<'a>>,
    /// The member's parameters (already checked).
    pub(crate) params: Params<'a>,
}

/// The members of a List field value, in order; an error (the byte offset where the syntax
/// breaks) ends the walk.
pub(crate) struct List<'a> {
    cursor: Cursor<'a>,
    started: bool,
    done: bool,
}

impl<'a> List<'a> {
    pub(crate) fn new(value: &'a [u8]) -> Self {
        let mut cursor = Cursor { s: value, i: 0 };
        cursor.skip_sp();
        List {
            cursor,
            started: false,
            done: false,
        }
    }

    fn next_member(&mut self) -> Result<Option<Member<'a>>, usize> {
        let c = &mut self.cursor;
        if self.started {
            c.skip_ows();
            if c.at_end() {
                return Ok(None);
            }
            c.expect(b',')?;
            c.skip_ows();
            if c.at_end() {
                return Err(c.i); // a trailing comma
            }
        } else {
            self.started = true;
            if c.at_end() {
                return Ok(None); // an empty list
            }
        }
        let item = if c.peek() == Some(b'(') {
            c.inner_list()?;
            None
        } else {
            Some(c.bare_item()?)
        };
        let start = c.i;
        c.parameters()?;
        Ok(Some(Member {
            item,
            params: Params {
                s: &c.s[start..c.i],
            },
        }))
    }
}

impl<'a> Iterator for List<'a> {
    type Item = Result<Member<'a>, usize>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_member();
        if !matches!(next, Ok(Some(_))) {
            self.done = true;
        }
        next.transpose()
    }
}

/// A member's parameters, checked: each `(key, value)` in order (a key without a value is
/// `Boolean(true)`). A key given twice appears twice; the last one wins.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Params<'a> {
    s: &'a [u8],
}

impl<'a> Params<'a> {
    /// The value of the last parameter named `key`, if any.
    pub(crate) fn get(&self, key: &[u8]) -> Option<Bare<'a>> {
        self.into_iter()
            .filter(|(k, _)| *k == key)
            .last()
            .map(|(_, v)| v)
    }
}

impl<'a> IntoIterator for Params<'a> {
    type Item = (&'a [u8], Bare<'a>);
    type IntoIter = ParamIter<'a>;

    fn into_iter(self) -> ParamIter<'a> {
        ParamIter {
            cursor: Cursor { s: self.s, i: 0 },
        }
    }
}

/// The iterator of [`Params`].
pub(crate) struct ParamIter<'a> {
    cursor: Cursor<'a>,
}

impl<'a> Iterator for ParamIter<'a> {
    type Item = (&'a [u8], Bare<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        // The slice was checked when its member was read, so a parameter parses here; an
        // error (which cannot happen) just ends the walk.
        self.cursor.parameter().ok().flatten()
    }
}

/// The characters a raw String (escapes in place) or a Token stands for, so that two names
/// can be compared whatever their spelling.
pub(crate) fn unescaped(raw: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let mut escaped = false;
    raw.iter().copied().filter(move |&b| {
        if !escaped && b == b'\\' {
            escaped = true;
            false
        } else {
            escaped = false;
            true
        }
    })
}

#[derive(Clone, Copy, Debug)]
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }

    fn expect(&mut self, b: u8) -> Result<(), usize> {
        if self.peek() == Some(b) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.i)
        }
    }

    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    /// `"(" *SP [ sf-item *( 1*SP sf-item ) *SP ] ")" parameters`, without the parameters.
    fn inner_list(&mut self) -> Result<(), usize> {
        self.expect(b'(')?;
        loop {
            self.skip_sp();
            if self.peek() == Some(b')') {
                self.i += 1;
                return Ok(());
            }
            self.bare_item()?;
            self.parameters()?;
            match self.peek() {
                Some(b' ' | b')') => {}
                _ => return Err(self.i),
            }
        }
    }

    /// `*( ";" *SP parameter )`.
    fn parameters(&mut self) -> Result<(), usize> {
        while self.parameter()?.is_some() {}
        Ok(())
    }

    /// One `";" *SP key [ "=" bare-item ]`, or `None` where the parameters end.
    fn parameter(&mut self) -> Result<Option<(&'a [u8], Bare<'a>)>, usize> {
        if self.peek() != Some(b';') {
            return Ok(None);
        }
        self.i += 1;
        self.skip_sp();
        let key = self.key()?;
        let value = if self.peek() == Some(b'=') {
            self.i += 1;
            self.bare_item()?
        } else {
            Bare::Boolean(true)
        };
        Ok(Some((key, value)))
    }

    /// `( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )`.
    fn key(&mut self) -> Result<&'a [u8], usize> {
        let start = self.i;
        match self.peek() {
            Some(b'a'..=b'z' | b'*') => self.i += 1,
            _ => return Err(self.i),
        }
        while matches!(
            self.peek(),
            Some(b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*')
        ) {
            self.i += 1;
        }
        Ok(&self.s[start..self.i])
    }

    fn bare_item(&mut self) -> Result<Bare<'a>, usize> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'"') => self.string().map(Bare::String),
            Some(b'A'..=b'Z' | b'a'..=b'z' | b'*') => Ok(Bare::Token(self.token())),
            Some(b':') => self.bytes().map(Bare::Bytes),
            Some(b'?') => self.boolean().map(Bare::Boolean),
            Some(b'@') => {
                self.i += 1;
                match self.number()? {
                    Bare::Integer(seconds) => Ok(Bare::Date(seconds)),
                    _ => Err(self.i),
                }
            }
            Some(b'%') => self.display_string().map(Bare::DisplayString),
            _ => Err(self.i),
        }
    }

    /// An Integer (`-` and 1 to 15 digits) or a Decimal (1 to 12 digits, `.`, 1 to 3 digits).
    fn number(&mut self) -> Result<Bare<'a>, usize> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.i += 1;
        }
        let mut int: i64 = 0;
        let mut int_digits = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            int_digits += 1;
            if int_digits > 15 {
                return Err(self.i);
            }
            int = int * 10 + i64::from(d - b'0');
            self.i += 1;
        }
        if int_digits == 0 {
            return Err(self.i);
        }
        let sign = if negative { -1 } else { 1 };
        if self.peek() != Some(b'.') {
            return Ok(Bare::Integer(sign * int));
        }
        if int_digits > 12 {
            return Err(self.i);
        }
        self.i += 1;
        let mut frac: i64 = 0;
        let mut frac_digits = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            frac_digits += 1;
            if frac_digits > 3 {
                return Err(self.i);
            }
            frac = frac * 10 + i64::from(d - b'0');
            self.i += 1;
        }
        if frac_digits == 0 {
            return Err(self.i);
        }
        for _ in frac_digits..3 {
            frac *= 10;
        }
        Ok(Bare::Decimal(sign * (int * 1000 + frac)))
    }

    /// `DQUOTE *( unescaped / "\" ( DQUOTE / "\" ) ) DQUOTE`, printable ASCII only.
    fn string(&mut self) -> Result<&'a [u8], usize> {
        self.expect(b'"')?;
        let start = self.i;
        loop {
            match self.peek() {
                Some(b'"') => {
                    let raw = &self.s[start..self.i];
                    self.i += 1;
                    return Ok(raw);
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b'"' | b'\\') => self.i += 1,
                        _ => return Err(self.i),
                    }
                }
                Some(0x20..=0x7e) => self.i += 1,
                _ => return Err(self.i),
            }
        }
    }

    /// `( ALPHA / "*" ) *( tchar / ":" / "/" )`.
    fn token(&mut self) -> &'a [u8] {
        let start = self.i;
        self.i += 1;
        while let Some(b) = self.peek() {
            let tchar = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&b);
            if !tchar {
                break;
            }
            self.i += 1;
        }
        &self.s[start..self.i]
    }

    /// `":" *base64 ":"`.
    fn bytes(&mut self) -> Result<&'a [u8], usize> {
        self.expect(b':')?;
        let start = self.i;
        while let Some(b) = self.peek() {
            if b == b':' {
                let raw = &self.s[start..self.i];
                self.i += 1;
                return Ok(raw);
            }
            if !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=') {
                return Err(self.i);
            }
            self.i += 1;
        }
        Err(self.i)
    }

    /// `"?" ( "0" / "1" )`.
    fn boolean(&mut self) -> Result<bool, usize> {
        self.expect(b'?')?;
        let value = match self.peek() {
            Some(b'0') => false,
            Some(b'1') => true,
            _ => return Err(self.i),
        };
        self.i += 1;
        Ok(value)
    }

    /// `"%" DQUOTE *( unescaped / "%" lc-hexdig lc-hexdig ) DQUOTE` (RFC 9651).
    fn display_string(&mut self) -> Result<&'a [u8], usize> {
        self.expect(b'%')?;
        self.expect(b'"')?;
        let start = self.i;
        loop {
            match self.peek() {
                Some(b'"') => {
                    let raw = &self.s[start..self.i];
                    self.i += 1;
                    return Ok(raw);
                }
                Some(b'%') => {
                    for _ in 0..2 {
                        self.i += 1;
                        if !matches!(self.peek(), Some(b'0'..=b'9' | b'a'..=b'f')) {
                            return Err(self.i);
                        }
                    }
                    self.i += 1;
                }
                Some(0x20..=0x7e) => self.i += 1,
                _ => return Err(self.i),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(value: &str) -> Result<usize, usize> {
        let mut n = 0;
        for member in List::new(value.as_bytes()) {
            member?;
            n += 1;
        }
        Ok(n)
    }

    #[test]
    fn lists_of_items_with_parameters() {
        let value = br#""burst";q=100;w=60, "daily";q=1000;w=86400"#;
        let mut list = List::new(value);
        let first = list.next().unwrap().unwrap();
        assert_eq!(first.item, Some(Bare::String(b"burst")));
        assert_eq!(first.params.get(b"q"), Some(Bare::Integer(100)));
        assert_eq!(first.params.get(b"w"), Some(Bare::Integer(60)));
        let second = list.next().unwrap().unwrap();
        assert_eq!(second.params.get(b"w"), Some(Bare::Integer(86400)));
        assert!(list.next().is_none());
    }

    #[test]
    fn every_bare_item_type() {
        let value =
            br#"a;i=-7;d=1.5;s="x\"y";t=tok/en:1;b=:aGk=:;f=?0;t2;dt=@1700000000;ds=%"caf%c3%a9""#;
        let member = List::new(value).next().unwrap().unwrap();
        assert_eq!(member.item, Some(Bare::Token(b"a")));
        let p = member.params;
        assert_eq!(p.get(b"i"), Some(Bare::Integer(-7)));
        assert_eq!(p.get(b"d"), Some(Bare::Decimal(1500)));
        assert_eq!(p.get(b"s"), Some(Bare::String(br#"x\"y"#)));
        assert_eq!(p.get(b"t"), Some(Bare::Token(b"tok/en:1")));
        assert_eq!(p.get(b"b"), Some(Bare::Bytes(b"aGk=")));
        assert_eq!(p.get(b"f"), Some(Bare::Boolean(false)));
        assert_eq!(p.get(b"t2"), Some(Bare::Boolean(true)));
        assert_eq!(p.get(b"dt"), Some(Bare::Date(1_700_000_000)));
        assert_eq!(p.get(b"ds"), Some(Bare::DisplayString(b"caf%c3%a9")));
        assert_eq!(p.get(b"none"), None);
    }

    #[test]
    fn syntax_per_rfc_8941() {
        assert_eq!(members(""), Ok(0));
        assert_eq!(members("   "), Ok(0));
        assert_eq!(members("a, b,\tc"), Ok(3));
        assert_eq!(members("(a b);q=1, c"), Ok(2));
        assert_eq!(members("( )"), Ok(1));
        assert_eq!(members("a;k=1;k=2"), Ok(1));
        assert_eq!(members("999999999999999"), Ok(1));
        assert!(members("a,").is_err());
        assert!(members(",a").is_err());
        assert!(members("a b").is_err());
        assert!(members("a;K=1").is_err());
        assert!(members("a;q=").is_err());
        assert!(members("1000000000000000").is_err());
        assert!(members("1.2345").is_err());
        assert!(members("1234567890123.1").is_err());
        assert!(members("\"unterminated").is_err());
        assert!(members("\"bad\\escape\"").is_err());
        assert!(members(":not base64!:").is_err());
        assert!(members("?2").is_err());
        assert!(members("(a").is_err());
        assert!(members("(ab)").is_ok());
        assert!(members("(a)b").is_err());
        assert!(members("\"\u{e9}\"").is_err());
        assert!(members("%\"%C3\"").is_err());
        assert!(members("@1.5").is_err());
        assert!(members("-").is_err());
    }

    #[test]
    fn names_compare_unescaped() {
        assert!(unescaped(br#"a\"b\\c"#).eq(br#"a"b\c"#.iter().copied()));
    }
}
