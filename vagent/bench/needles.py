"""Needles for ``vagent bench needle``: a sentence, a question that shares words with it, and a
reworded question that shares none (checked by ``check()``), plus the answer words."""

from __future__ import annotations

from dataclasses import dataclass

from vagent.words import tokens


@dataclass(frozen=True)
class Needle:
    sentence: str
    question: str
    reworded: str
    answer: str


NEEDLES = [
    Needle(
        "The secret code is PURPLE ELEPHANT 4721",
        "What is the secret code?",
        "Which password was given?",
        "PURPLE ELEPHANT 4721",
    ),
    Needle(
        "The treasure is buried under the old oak tree",
        "Where is the treasure buried?",
        "Where can the concealed chest be found?",
        "under the old oak tree",
    ),
    Needle(
        "Our flight to Lisbon departs from gate 42",
        "Which gate does the flight to Lisbon depart from?",
        "Where do passengers board the plane to Portugal's capital?",
        "42",
    ),
    Needle(
        "The blue whale is the largest animal on Earth",
        "What is the largest animal on Earth?",
        "Which creature is the biggest living thing on our planet?",
        "blue whale",
    ),
    Needle(
        "Marie Curie won two Nobel prizes",
        "How many Nobel prizes did Marie Curie win?",
        "How often was the famous radioactivity scientist given the top science award?",
        "two",
    ),
    Needle(
        "The bakery on Elm Street sells croissants for three dollars",
        "How much do croissants cost at the bakery on Elm Street?",
        "What is the price of pastries at that local shop?",
        "three dollars",
    ),
    Needle(
        "The board meeting was moved to Thursday afternoon",
        "When was the board meeting moved to?",
        "Which day is the gathering of directors rescheduled for?",
        "Thursday",
    ),
    Needle(
        "Water boils at one hundred degrees Celsius",
        "At what temperature does water boil?",
        "How hot must liquid get before it turns into steam?",
        "one hundred degrees",
    ),
    Needle(
        "The spare key is hidden beneath the flower pot",
        "Where is the spare key hidden?",
        "Where can I find the extra door opener?",
        "beneath the flower pot",
    ),
    Needle(
        "Alice adopted a golden retriever named Max",
        "What is the name of Alice's golden retriever?",
        "What did she call her new dog?",
        "Max",
    ),
]


# Said aloud (espeak-ng) in the haystack's audio: sentences of their own, so a spoken needle is
# never also on screen or in a subtitle.
SPOKEN = [
    Needle(
        "The quarterly budget review moves to the Berlin office",
        "Where does the quarterly budget review move to?",
        "Which German city hosts the finance meeting now?",
        "Berlin",
    ),
    Needle(
        "Our new product launch is planned for the fifth of June",
        "When is the new product launch planned?",
        "On what date will the company release its latest offering?",
        "fifth of June",
    ),
    Needle(
        "Maria painted the kitchen walls bright yellow",
        "What colour did Maria paint the kitchen walls?",
        "Which shade was chosen for the cooking room?",
        "yellow",
    ),
    Needle(
        "The museum closes at six in the evening on Sundays",
        "When does the museum close on Sundays?",
        "At what hour must visitors leave the gallery at the weekend?",
        "six in the evening",
    ),
    Needle(
        "The train to Vienna leaves from platform nine",
        "Which platform does the train to Vienna leave from?",
        "Where do travellers board for Austria's capital by rail?",
        "platform nine",
    ),
    Needle(
        "The dentist appointment was changed to half past two",
        "When is the dentist appointment?",
        "What hour should I see the tooth doctor?",
        "half past two",
    ),
    Needle(
        "Our team lunch will be at the Italian restaurant by the river",
        "Where will the team lunch be?",
        "Where are colleagues eating together at midday?",
        "Italian restaurant",
    ),
    Needle(
        "The library fine for late books is fifty cents a day",
        "How much is the library fine for late books?",
        "What penalty applies when borrowed novels come back overdue?",
        "fifty cents",
    ),
    Needle(
        "Tom broke his left arm while skiing in Switzerland",
        "How did Tom break his arm?",
        "What caused the injury on the winter holiday in the Alps?",
        "skiing",
    ),
    Needle(
        "The new swimming pool opens on the first of August",
        "When does the new swimming pool open?",
        "On which date can people start bathing at the leisure centre?",
        "first of August",
    ),
]


def check() -> None:
    """Reworded questions share no word (stopwords aside) with their needle; plain ones do."""
    for n in [*NEEDLES, *SPOKEN]:
        words = set(tokens(n.sentence))
        if set(tokens(n.reworded)) & words:
            raise AssertionError(f"reworded question shares {set(tokens(n.reworded)) & words}")
        if not set(tokens(n.question)) & words:
            raise AssertionError(f"question shares no word with '{n.sentence}'")
