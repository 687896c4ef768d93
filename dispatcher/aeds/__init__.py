"""AEDs: this process's index of defibrillators and which of them are open now."""
