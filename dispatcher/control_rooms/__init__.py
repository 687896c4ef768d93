"""Control rooms: their clients (secrets, tokens, scopes) and the signed events pushed back."""
