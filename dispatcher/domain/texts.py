"""The message texts in each supported language, and how many segments each may take."""

from __future__ import annotations

# Alerts must stay one GSM-7 segment: no curly quotes, no characters outside GSM 03.38.
TEMPLATES: dict[str, dict[str, str]] = {
    "en": {
        "update": "UPDATE for alert {code}: the patient is at {address}. {notes}Map: {map}",
        "alert": "CPR ALERT: suspected cardiac arrest {distance} {direction} of you{area}. "
        "Can you go now? Reply YES or NO. Ref {code}",
        "stand_down_cancelled": "Alert {code} is cancelled. You are no longer needed. Thank you!",
        "stand_down_closed": "Alert {code} is over: the ambulance has taken over. "
        "Thank you for being ready to help!",
        "details_cpr": "GO NOW: {address}. {notes}Start CPR: push hard and fast in the centre "
        "of the chest. Map: {map} Reply HERE when you arrive. Ref {code}",
        "details_aed": "FETCH THE DEFIBRILLATOR first: {aed_name}, {aed_access}{aed_hours}. "
        "Then go to {address}. {notes}Map: {map} Reply HERE when you arrive. Ref {code}",
        "aed_hours_today": " (open today {hours})",
        "enough": "Thank you! Enough responders are on the way for alert {code}. "
        "You are not needed this time.",
        "no_longer_needed": "Thank you! Alert {code} is over and you are no longer needed.",
        "declined": "Thank you for answering. We will ask someone else.",
        "arrived": "Thank you for being there. The ambulance is on its way.",
        "help": "CPR alerts: reply YES to go, NO if you can't, HERE when you arrive. "
        "PAUSE 8 pauses alerts for 8 hours, RESUME restarts them, STOP ends them.",
        "unknown": "Sorry, we did not understand. Are you going? Reply YES if you are going, "
        "NO if not. HERE when you arrive, STOP to end alerts, HELP for more.",
        "no_open_alert": "You have no open alert right now. Reply HELP for the commands.",
        "stopped": "You will get no more alerts. Reply START to get them again.",
        "started": "Welcome back: you will get alerts again. Reply STOP to end them.",
        "paused": "Alerts paused until {until}. Reply RESUME to get them again.",
        "resumed": "Alerts are on again. Thank you!",
        "follow_up": "Thank you for helping at alert {code}. Are you OK? Reply 1 if you are fine, "
        "2 if you would like someone to call you.",
        "follow_up_fine": "Thank you, we are glad you are OK. If you would like to talk later, "
        "reply 2 and someone will call you.",
        "follow_up_call": "Thank you for telling us. Someone from our team will call you soon. "
        "If it is urgent, call the emergency number.",
    },
    "sv": {
        "update": "NY INFO om larm {code}: patienten finns på {address}. {notes}Karta: {map}",
        "alert": "HLR-LARM: misstänkt hjärtstopp {distance} {direction} om dig{area}. "
        "Kan du gå nu? Svara JA eller NEJ. Ref {code}",
        "stand_down_cancelled": "Larm {code} är avbrutet. Du behövs inte längre. Tack!",
        "stand_down_closed": "Larm {code} är avslutat: ambulansen har tagit över. "
        "Tack för att du ställde upp!",
        "details_cpr": "GÅ NU: {address}. {notes}Starta HLR: tryck hårt och snabbt mitt på "
        "bröstet. Karta: {map} Svara FRAMME vid ankomst. Ref {code}",
        "details_aed": "HÄMTA HJÄRTSTARTAREN först: {aed_name}, {aed_access}{aed_hours}. "
        "Gå sedan till {address}. {notes}Karta: {map} Svara FRAMME vid ankomst. Ref {code}",
        "aed_hours_today": " (öppet i dag {hours})",
        "enough": "Tack! Tillräckligt många är på väg till larm {code}. "
        "Du behövs inte den här gången.",
        "no_longer_needed": "Tack! Larm {code} är avslutat och du behövs inte längre.",
        "declined": "Tack för ditt svar. Vi frågar någon annan.",
        "arrived": "Tack för att du är på plats. Ambulansen är på väg.",
        "help": "HLR-larm: svara JA för att gå, NEJ om du inte kan, FRAMME när du är på plats. "
        "PAUSE 8 pausar larmen i 8 timmar, RESUME startar dem igen, STOP avslutar dem.",
        "unknown": "Tyvärr förstod vi inte. Går du? Svara JA om du går, NEJ om inte. "
        "FRAMME när du är på plats, STOP för att avsluta, HELP för mer.",
        "no_open_alert": "Du har inget öppet larm just nu. Svara HELP för kommandona.",
        "stopped": "Du får inga fler larm. Svara START för att få dem igen.",
        "started": "Välkommen tillbaka: du får larm igen. Svara STOP för att avsluta dem.",
        "paused": "Larmen är pausade till {until}. Svara RESUME för att få dem igen.",
        "resumed": "Larmen är aktiva igen. Tack!",
        "follow_up": "Tack för att du hjälpte till vid larm {code}. Mår du bra? Svara 1 om du mår "
        "bra, 2 om du vill att någon ringer dig.",
        "follow_up_fine": "Tack, vad bra att du mår bra. Vill du prata senare, svara 2 så ringer "
        "någon dig.",
        "follow_up_call": "Tack för att du berättade. Någon från oss ringer dig snart. "
        "Om det är akut, ring larmnumret.",
    },
    "nl": {
        "update": "UPDATE voor alarm {code}: de patient is op {address}. {notes}Kaart: {map}",
        "alert": "REANIMATIE-ALARM: vermoedelijke hartstilstand {distance} {direction} "
        "van u{area}. Kunt u nu gaan? Antwoord JA of NEE. Ref {code}",
        "stand_down_cancelled": "Alarm {code} is geannuleerd. U bent niet meer nodig. Dank u!",
        "stand_down_closed": "Alarm {code} is afgerond: de ambulance heeft het overgenomen. "
        "Dank voor uw inzet!",
        "details_cpr": "GA NU: {address}. {notes}Start met reanimatie: druk hard en snel "
        "midden op de borst. Kaart: {map} Antwoord HERE als u er bent. Ref {code}",
        "details_aed": "HAAL EERST DE AED: {aed_name}, {aed_access}{aed_hours}. "
        "Ga dan naar {address}. {notes}Kaart: {map} Antwoord HERE als u er bent. Ref {code}",
        "aed_hours_today": " (vandaag open {hours})",
        "enough": "Dank u! Er zijn genoeg hulpverleners onderweg voor alarm {code}. "
        "U bent deze keer niet nodig.",
        "no_longer_needed": "Dank u! Alarm {code} is afgerond en u bent niet meer nodig.",
        "declined": "Dank u voor uw antwoord. We vragen iemand anders.",
        "arrived": "Dank u dat u er bent. De ambulance is onderweg.",
        "help": "Reanimatie-alarmen: antwoord JA om te gaan, NEE als u niet kunt, HERE als u er "
        "bent. PAUSE 8 pauzeert alarmen 8 uur, RESUME zet ze weer aan, STOP stopt ze.",
        "unknown": "Sorry, dat begrepen we niet. Gaat u? Antwoord JA als u gaat, NEE als "
        "niet. HERE als u er bent, STOP om te stoppen, HELP voor meer.",
        "no_open_alert": "U heeft nu geen open alarm. Antwoord HELP voor de commando's.",
        "stopped": "U krijgt geen alarmen meer. Antwoord START om ze weer te krijgen.",
        "started": "Welkom terug: u krijgt weer alarmen. Antwoord STOP om ze te stoppen.",
        "paused": "Alarmen gepauzeerd tot {until}. Antwoord RESUME om ze weer te krijgen.",
        "resumed": "Alarmen staan weer aan. Dank u!",
        "follow_up": "Dank u voor uw hulp bij alarm {code}. Gaat het goed met u? Antwoord 1 als "
        "het goed gaat, 2 als u wilt dat iemand u belt.",
        "follow_up_fine": "Dank u, fijn dat het goed met u gaat. Wilt u later praten, antwoord dan "
        "2 en iemand belt u.",
        "follow_up_call": "Dank u voor uw bericht. Iemand van ons team belt u snel. "
        "Is het dringend, bel dan het alarmnummer.",
    },
    "fr": {
        "update": "MISE A JOUR de l'alerte {code}: le patient est au {address}. "
        "{notes}Carte: {map}",
        "alert": "ALERTE RCP: ACR suspecté à {distance} {direction} de vous{area}. "
        "Pouvez-vous y aller? Répondez OUI ou NON. Réf {code}",
        "stand_down_cancelled": "Alerte {code} annulée. Votre aide n'est plus nécessaire. Merci!",
        "stand_down_closed": "Alerte {code} terminée: l'ambulance a pris le relais. "
        "Merci de votre engagement!",
        "details_cpr": "ALLEZ-Y MAINTENANT: {address}. {notes}Commencez la RCP: appuyez fort "
        "et vite au centre de la poitrine. Carte: {map} Répondez HERE à votre arrivée. "
        "Réf {code}",
        "details_aed": "RÉCUPÉREZ D'ABORD LE DÉFIBRILLATEUR: {aed_name}, {aed_access}"
        "{aed_hours}. Puis rendez-vous à {address}. {notes}Carte: {map} "
        "Répondez HERE à votre arrivée. Réf {code}",
        "aed_hours_today": " (ouvert aujourd'hui {hours})",
        "enough": "Merci! Assez de secouristes sont en route pour l'alerte {code}. "
        "Nous n'avons pas besoin de vous cette fois.",
        "no_longer_needed": "Merci! L'alerte {code} est terminée et votre aide n'est plus "
        "nécessaire.",
        "declined": "Merci de votre réponse. Nous allons demander à quelqu'un d'autre.",
        "arrived": "Merci de votre présence. L'ambulance est en route.",
        "help": "Alertes RCP: répondez OUI pour y aller, NON si vous ne pouvez pas, HERE à "
        "votre arrivée. PAUSE 8 suspend les alertes 8 h, RESUME les réactive, STOP y met fin.",
        "unknown": "Désolé, nous n'avons pas compris. Y allez-vous? Répondez OUI si vous y "
        "allez, NON sinon. HERE à votre arrivée, STOP y met fin, HELP pour l'aide.",
        "no_open_alert": "Vous n'avez aucune alerte en cours. Répondez HELP pour la liste des "
        "commandes.",
        "stopped": "Vous ne recevrez plus d'alertes. Répondez START pour les recevoir de nouveau.",
        "started": "Bon retour parmi nous: vous recevrez de nouveau les alertes. "
        "Répondez STOP pour y mettre fin.",
        "paused": "Alertes suspendues jusqu'à {until}. Répondez RESUME pour les recevoir de "
        "nouveau.",
        "resumed": "Les alertes sont réactivées. Merci!",
        "follow_up": "Merci de votre aide lors de l'alerte {code}. Allez-vous bien? Répondez 1 si "
        "tout va bien, 2 si vous souhaitez qu'on vous appelle.",
        "follow_up_fine": "Merci, nous sommes heureux que vous alliez bien. Si vous souhaitez en "
        "parler plus tard, répondez 2 et on vous appellera.",
        "follow_up_call": "Merci de nous l'avoir dit. Quelqu'un de notre équipe vous appellera "
        "sous peu. En cas d'urgence, appelez le numéro d'urgence.",
    },
    "de": {
        "update": "NEUE ANGABEN zu Alarm {code}: der Patient ist in {address}. "
        "{notes}Karte: {map}",
        "alert": "HLW-ALARM: Verdacht auf Herzstillstand {distance} {direction} von Ihnen{area}. "
        "Können Sie hin? Antworten Sie JA oder NEIN. Ref {code}",
        "stand_down_cancelled": "Alarm {code} ist aufgehoben. Sie werden nicht mehr gebraucht. "
        "Danke!",
        "stand_down_closed": "Alarm {code} ist beendet: der Rettungsdienst hat übernommen. "
        "Danke für Ihre Bereitschaft!",
        "details_cpr": "GEHEN SIE JETZT LOS: {address}. {notes}Beginnen Sie mit der HLW: "
        "drücken Sie fest und schnell in der Mitte des Brustkorbs. Karte: {map} "
        "Antworten Sie HERE bei Ankunft. Ref {code}",
        "details_aed": "HOLEN SIE ZUERST DEN DEFIBRILLATOR: {aed_name}, {aed_access}{aed_hours}. "
        "Gehen Sie dann zu {address}. {notes}Karte: {map} Antworten Sie HERE bei Ankunft. "
        "Ref {code}",
        "aed_hours_today": " (heute geöffnet {hours})",
        "enough": "Danke! Für Alarm {code} sind genug Helfer unterwegs. "
        "Sie werden diesmal nicht gebraucht.",
        "no_longer_needed": "Danke! Alarm {code} ist beendet und Sie werden nicht mehr gebraucht.",
        "declined": "Danke für Ihre Antwort. Wir fragen jemand anderen.",
        "arrived": "Danke, dass Sie vor Ort sind. Der Rettungsdienst ist unterwegs.",
        "help": "HLW-Alarme: Antworten Sie JA zum Hingehen, NEIN, wenn Sie nicht können, "
        "HERE bei Ankunft. PAUSE 8 pausiert sie 8 Std., RESUME aktiviert sie, STOP beendet sie.",
        "unknown": "Das haben wir leider nicht verstanden. Gehen Sie hin? Antworten Sie JA, "
        "wenn ja, NEIN, wenn nicht. HERE bei Ankunft, STOP zum Beenden, HELP für mehr.",
        "no_open_alert": "Sie haben gerade keinen offenen Alarm. Antworten Sie HELP für die "
        "Befehle.",
        "stopped": "Sie erhalten keine Alarme mehr. Antworten Sie START, um sie wieder zu "
        "erhalten.",
        "started": "Willkommen zurück: Sie erhalten wieder Alarme. Antworten Sie STOP, um sie zu "
        "beenden.",
        "paused": "Alarme pausiert bis {until}. Antworten Sie RESUME, um sie wieder zu erhalten.",
        "resumed": "Alarme sind wieder aktiv. Danke!",
        "follow_up": "Danke für Ihre Hilfe bei Alarm {code}. Geht es Ihnen gut? Antworten Sie 1, "
        "wenn es Ihnen gut geht, 2, wenn wir Sie anrufen sollen.",
        "follow_up_fine": "Danke, schön, dass es Ihnen gut geht. Wenn Sie später reden möchten, "
        "antworten Sie 2 und wir rufen Sie an.",
        "follow_up_call": "Danke für Ihre Nachricht. Jemand aus unserem Team ruft Sie bald an. "
        "Wenn es dringend ist, rufen Sie den Notruf an.",
    },
    "fi": {
        "update": "PÄIVITYS hälytykseen {code}: potilas on osoitteessa {address}. "
        "{notes}Kartta: {map}",
        "alert": "ELVYTYSHÄLYTYS: epäilty sydänpysähdys {distance} sinusta suuntaan {direction}"
        "{area}. Pääsetkö nyt? Vastaa KYLLÄ tai EI. Viite {code}",
        "stand_down_cancelled": "Hälytys {code} on peruttu. Sinua ei enää tarvita. Kiitos!",
        "stand_down_closed": "Hälytys {code} on päättynyt: ambulanssi on ottanut tilanteen. "
        "Kiitos avustasi!",
        "details_cpr": "LÄHDE NYT: {address}. {notes}Aloita elvytys: painele lujaa ja nopeasti "
        "rintakehän keskeltä. Kartta: {map} Vastaa HERE, kun olet perillä. Viite {code}",
        "details_aed": "HAE ENSIN DEFIBRILLAATTORI: {aed_name}, {aed_access}{aed_hours}. "
        "Mene sitten osoitteeseen {address}. {notes}Kartta: {map} Vastaa HERE, kun olet "
        "perillä. Viite {code}",
        "aed_hours_today": " (auki tänään {hours})",
        "enough": "Kiitos! Hälytykseen {code} on tulossa tarpeeksi auttajia. "
        "Sinua ei tarvita tällä kertaa.",
        "no_longer_needed": "Kiitos! Hälytys {code} on päättynyt, eikä sinua enää tarvita.",
        "declined": "Kiitos vastauksestasi. Kysymme joltakulta muulta.",
        "arrived": "Kiitos, että olet paikalla. Ambulanssi on tulossa.",
        "help": "Elvytyshälytykset: vastaa KYLLÄ, jos lähdet, EI, jos et pääse, HERE, kun olet "
        "perillä. PAUSE 8 keskeyttää hälytykset 8 tunniksi, RESUME jatkaa, STOP lopettaa.",
        "unknown": "Valitettavasti emme ymmärtäneet. Lähdetkö? Vastaa KYLLÄ, jos lähdet, EI, "
        "jos et. HERE, kun olet perillä, STOP lopettaa, HELP antaa ohjeet.",
        "no_open_alert": "Sinulla ei ole nyt avointa hälytystä. Vastaa HELP, niin saat komennot.",
        "stopped": "Et saa enää hälytyksiä. Vastaa START, jos haluat ne taas.",
        "started": "Tervetuloa takaisin: saat taas hälytyksiä. Vastaa STOP, jos haluat lopettaa "
        "ne.",
        "paused": "Hälytykset on keskeytetty {until} asti. Vastaa RESUME, jos haluat ne taas.",
        "resumed": "Hälytykset ovat taas päällä. Kiitos!",
        "follow_up": "Kiitos avustasi hälytyksessä {code}. Voitko hyvin? Vastaa 1, jos voit "
        "hyvin, 2, jos haluat, että sinulle soitetaan.",
        "follow_up_fine": "Kiitos, hienoa että voit hyvin. Jos haluat puhua myöhemmin, vastaa 2, "
        "niin sinulle soitetaan.",
        "follow_up_call": "Kiitos, kun kerroit. Joku meiltä soittaa sinulle pian. "
        "Jos asia on kiireellinen, soita hätänumeroon.",
    },
}

# How many segments each kind of message may take.
BUDGET = {
    "alert": 1,
    "stand_down_cancelled": 1,
    "stand_down_closed": 1,
    "details_cpr": 3,
    "details_aed": 3,
    "update": 3,
    "aed_hours_today": 1,
    "enough": 1,
    "no_longer_needed": 1,
    "declined": 1,
    "arrived": 1,
    "help": 1,
    "unknown": 1,
    "no_open_alert": 1,
    "stopped": 1,
    "started": 1,
    "paused": 1,
    "resumed": 1,
    # After an incident: the question to those who went, and the answers to 1 and 2.
    "follow_up": 1,
    "follow_up_fine": 1,
    "follow_up_call": 1,
}
