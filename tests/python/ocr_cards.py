"""Reads text back from a screenshot the way the kitchen-screen tests need it.

    ocr_cards.py PNG RECTS_JSON [THRESHOLD]
        -> JSON: {"cards": [text of each rect], "page": text of the page}

Each rectangle ([x, y, width, height] in pixels) is cropped, turned grey, stretched to full
contrast, made dark-on-light, scaled three times and read by tesseract as one line; the whole
page is read at twice its size. Tesseract reads dark text on a light ground best, at about 30
pixels a capital; the scaling gives it that without changing what the screen shows.
"""

import json
import subprocess
import sys
import tempfile

from PIL import Image, ImageOps


def tesseract(image, psm):
    with tempfile.NamedTemporaryFile(suffix=".png") as f:
        image.save(f.name)
        out = subprocess.run(
            ["tesseract", f.name, "-", "--psm", str(psm)],
            capture_output=True, text=True, check=True,
        )
    return out.stdout.strip()


def prepare(image, scale, threshold=None):
    grey = ImageOps.autocontrast(image.convert("L"))
    histogram = grey.histogram()
    dark = sum(histogram[:128]) > sum(histogram[128:])
    if dark:
        grey = ImageOps.invert(grey)
    if threshold is not None:
        # Screens with coloured panels (tables, notices): light text on colour becomes black on
        # white, and the panels themselves white.
        grey = grey.point(lambda v: 255 if v > threshold else 0)
    return grey.resize((grey.width * scale, grey.height * scale), Image.LANCZOS)


def main():
    image = Image.open(sys.argv[1]).convert("RGB")
    rects = json.loads(sys.argv[2])
    cards = []
    for x, y, w, h in rects:
        crop = image.crop((int(x), int(y), int(x + w), int(y + h)))
        cards.append(tesseract(prepare(crop, 3), 7))
    threshold = int(sys.argv[3]) if len(sys.argv) > 3 else None
    page = tesseract(prepare(image, 2, threshold), 11)
    print(json.dumps({"cards": cards, "page": page}))


if __name__ == "__main__":
    main()
