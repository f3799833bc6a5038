"""Opens the built documentation in headless Chromium and checks that pages
render: each loads, has its title and text, and every image on it has loaded
(naturalWidth > 0); a gallery page must show at least one figure. Saves a
screenshot of each page.

    python docs/check_pages.py BUILD_DIR SCREENSHOT_DIR

Needs Debian's chromium and chromium-driver and selenium (the test extra).
"""
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By

# page: (text it must contain, least number of images)
PAGES = {
    "index.html": ("omtcore documentation", 0),
    "reference.html": ("scalar_omt", 0),
    "performance.html": ("Every grid size", 1),
    "auto_gallery/index.html": ("Gallery", 3),
    "auto_gallery/plot_colour_images.html": ("Colour images", 1),
    "auto_gallery/plot_unbalanced.html": ("Unbalanced transport", 1),
}


def main(build: Path, shots: Path) -> int:
    shots.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1800"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService("/usr/bin/chromedriver"))
    failures = []
    try:
        for page, (text, least_images) in PAGES.items():
            path = build / page
            if not path.is_file():
                failures.append(f"{page}: not built")
                continue
            driver.get(path.as_uri())
            for _ in range(100):  # wait for the page and its images
                ready = driver.execute_script(
                    "return document.readyState == 'complete' && "
                    "Array.from(document.images).every(i => i.complete)")
                if ready:
                    break
                time.sleep(0.1)
            body = driver.find_element(By.TAG_NAME, "body").text
            images = driver.execute_script(
                "return Array.from(document.images).map(i => [i.getAttribute('src'), i.naturalWidth])")
            broken = [src for src, width in images if not width]
            shot = shots / (page.replace("/", "_").replace(".html", ".png"))
            driver.save_screenshot(str(shot))
            status = []
            if text not in body:
                status.append(f"text {text!r} missing")
            if broken:
                status.append(f"images that did not load: {broken}")
            if len(images) < least_images:
                status.append(f"{len(images)} images, expected at least {least_images}")
            print(f"{page}: {len(images)} images, title {driver.title!r}, screenshot {shot}"
                  + ("" if not status else "  FAILED: " + "; ".join(status)))
            if status:
                failures.append(f"{page}: " + "; ".join(status))
    finally:
        driver.quit()
    for failure in failures:
        print("FAILED", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()))
