"""A Snips-style app written with rhasspy-hermes-app (PyPI), exactly as its README teaches: no Hermesh code.

Run: python snips_light_app.py --host 127.0.0.1 --port 1883
"""

from rhasspyhermes.nlu import NluIntent
from rhasspyhermes_app import EndSession, HermesApp

app = HermesApp("LightApp")


@app.on_intent("LightOn")
async def light_on(intent: NluIntent):
    """Turn on a light and say so."""
    name = intent.slots[0].value["value"] if intent.slots else "light"
    return EndSession(f"Turning on the {name}")


if __name__ == "__main__":
    app.run()
