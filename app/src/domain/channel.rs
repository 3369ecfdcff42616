//! The channel a referral link was followed from: printed material carries `?ch=card` (and so
//! on) on its QR code, so clicks from paper are counted apart from shared links. A channel only
//! labels the click; it never changes who is credited.

use serde::{Deserialize, Serialize};

/// Where a click came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The link itself: shared, typed or clicked anywhere, without a marker.
    Link,
    /// A printed business card's QR code.
    Card,
    /// A printed flyer's QR code.
    Flyer,
    /// A printed poster's QR code.
    Poster,
    /// A printed table tent's QR code.
    Tent,
    /// A marker Handoff does not know.
    Other,
}

impl Channel {
    /// Every channel, in the order stats list them.
    pub const ALL: [Channel; 6] = [
        Channel::Link,
        Channel::Card,
        Channel::Flyer,
        Channel::Poster,
        Channel::Tent,
        Channel::Other,
    ];

    /// The name in `?ch=` and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Link => "link",
            Channel::Card => "card",
            Channel::Flyer => "flyer",
            Channel::Poster => "poster",
            Channel::Tent => "tent",
            Channel::Other => "other",
        }
    }

    /// How stats name it.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Link => "Shared link",
            Channel::Card => "Business cards",
            Channel::Flyer => "Flyers",
            Channel::Poster => "Posters",
            Channel::Tent => "Table tents",
            Channel::Other => "Other",
        }
    }

    /// The channel of a link's `ch` marker: none is the link itself; a known name (any case)
    /// is that channel; anything else is [`Channel::Other`].
    pub fn from_marker(marker: Option<&str>) -> Channel {
        let Some(marker) = marker.map(str::trim).filter(|m| !m.is_empty()) else {
            return Channel::Link;
        };
        Channel::ALL
            .into_iter()
            .find(|channel| channel.as_str().eq_ignore_ascii_case(marker))
            .unwrap_or(Channel::Other)
    }

    /// The channel stored as `name` (rows written before channels existed read as the link).
    pub fn from_stored(name: &str) -> Channel {
        Channel::ALL
            .into_iter()
            .find(|channel| channel.as_str() == name)
            .unwrap_or(Channel::Other)
    }

    /// The `ch` marker of a link's query string (`a=1&ch=card`), if any.
    pub fn from_query(query: Option<&str>) -> Channel {
        let marker =
            query.and_then(|query| query.split('&').find_map(|pair| pair.strip_prefix("ch=")));
        Channel::from_marker(marker)
    }
}

/// Clicks counted per channel, every channel listed (zeros too) in [`Channel::ALL`]'s order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelCounts(pub Vec<(Channel, i64)>);

impl ChannelCounts {
    /// Sums stored `(channel name, count)` rows; unknown names add to "other".
    pub fn from_rows(rows: impl IntoIterator<Item = (String, i64)>) -> ChannelCounts {
        let mut counts: Vec<(Channel, i64)> = Channel::ALL.into_iter().map(|c| (c, 0)).collect();
        for (name, count) in rows {
            let channel = Channel::from_stored(&name);
            if let Some(slot) = counts.iter_mut().find(|(c, _)| *c == channel) {
                slot.1 += count;
            }
        }
        ChannelCounts(counts)
    }

    /// The channels with at least one click.
    pub fn nonzero(&self) -> impl Iterator<Item = (Channel, i64)> + '_ {
        self.0.iter().copied().filter(|(_, count)| *count > 0)
    }

    /// Clicks from printed material (every channel but the link itself).
    pub fn from_paper(&self) -> i64 {
        self.0
            .iter()
            .filter(|(channel, _)| *channel != Channel::Link)
            .map(|(_, count)| count)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_names_a_channel_and_anything_else_is_other() {
        assert_eq!(Channel::from_query(None), Channel::Link);
        assert_eq!(Channel::from_query(Some("utm_source=x")), Channel::Link);
        assert_eq!(Channel::from_query(Some("ch=card")), Channel::Card);
        assert_eq!(Channel::from_query(Some("a=1&ch=FLYER")), Channel::Flyer);
        assert_eq!(Channel::from_query(Some("ch=")), Channel::Link);
        assert_eq!(Channel::from_query(Some("ch=billboard")), Channel::Other);
        assert_eq!(Channel::from_query(Some("ch=%3Cscript%3E")), Channel::Other);
        for channel in Channel::ALL {
            assert_eq!(Channel::from_stored(channel.as_str()), channel);
        }
    }

    #[test]
    fn counts_list_every_channel_and_fold_unknown_names_into_other() {
        let counts = ChannelCounts::from_rows([
            ("link".to_owned(), 5),
            ("card".to_owned(), 2),
            ("weird".to_owned(), 1),
        ]);
        assert_eq!(counts.0.len(), Channel::ALL.len());
        assert_eq!(
            counts.nonzero().collect::<Vec<_>>(),
            [(Channel::Link, 5), (Channel::Card, 2), (Channel::Other, 1)]
        );
        assert_eq!(counts.from_paper(), 3);
    }
}
