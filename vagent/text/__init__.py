"""The text track: subtitles, on-screen text (OCR) and captions, as time-stamped spans."""
