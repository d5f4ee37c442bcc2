"""Costs: password hashing and rules, the login they imply, mail delivery rates."""

import os
import subprocess
import sys

from bench.databases import seeded_database
from bench.seed import PASSWORD, READER
from bench.servers import ROOT, Browser, app_env, free_port, gunicorn, wrk

# Run inside the app, so the figures leave out gunicorn and the network.
IN_PROCESS = """\
import time, statistics
from app import create_app, db
from app.mail.compose import send_email
from app.models import User
from app.mail.outbox import deliver_due
from config import Config
app = create_app(Config)
with app.app_context():
    user, runs = User(username='x', email='x@x.org'), []
    for _ in range(20):
        t = time.perf_counter(); user.set_password('a long passphrase here')
        runs.append((time.perf_counter() - t) * 1000)
    print('hash', statistics.median(runs))
    from app.passwords import password_problem, personal_words
    import random, string; rng = random.Random(1)
    words = personal_words('susan', 'susan@example.org')
    samples = {'typical': 'a quiet bench in the park by noon',
        'random': ''.join(rng.choices(string.printable[:94], k=128)),
        'runs': ('qwertyuiop1234567890' * 7)[:127] + 'x',
        'personal': ('susan@example.org 2024 ' * 6)[:128]}
    for name, sample in samples.items():
        runs = []
        for _ in range(200):
            t = time.perf_counter(); password_problem(sample, words)
            runs.append((time.perf_counter() - t) * 1000)
        print('check', name, statistics.median(runs))
    # A sign-in with the password alone against one that also asks for a code
    # (one more request); the clock moves a step per sign-in, so each code is new.
    import pyotp
    from app import limiter
    from app.models import two_factor
    limiter.enabled, app.config['WTF_CSRF_ENABLED'] = False, False
    key, clock = two_factor.new_totp_key(), [1_900_000_020.0]
    two_factor.now = lambda: clock[0]
    for name in ('plain', 'coded'):
        user = User(username=name, email=name + '@x.org')
        user.set_password('a long passphrase here'); db.session.add(user)
        db.session.flush()
    User.by_username('coded').enable_two_factor(key, 0); db.session.commit()
    client, form = app.test_client(), {'password': 'a long passphrase here'}
    for name in ('plain', 'coded'):
        runs = []
        for _ in range(30):
            t = time.perf_counter()
            client.post('/login', data={**form, 'username': name})
            if name == 'coded':
                clock[0] += 30
                code = pyotp.TOTP(key).at(clock[0])
                client.post('/login/two_factor', data={'code': code})
            runs.append((time.perf_counter() - t) * 1000)
            assert client.get('/settings').status_code == 200
            client.post('/logout')
        print('sign-in', name, statistics.median(runs))
    for mode in ('reused', 'per message'):
        for n in range(200):
            send_email('Bench', ['a@example.org'], 'body', '<p>body</p>')
        db.session.commit(); t = time.perf_counter()
        if mode == 'reused': deliver_due(limit=1000)
        else:
            while deliver_due(limit=1): pass
        print(mode, 200 / (time.perf_counter() - t))
"""


def costs(directory, sink, args) -> dict:
    """Item 4: password hashing, the login it implies, mail delivery rates."""
    database = seeded_database(directory, 10, 100)  # an empty outbox
    env = {
        **os.environ,
        **app_env(database, sink.port, free_port()),
        "MAIL_DELIVERY": "worker",
    }
    output = subprocess.run(
        [sys.executable, "-c", IN_PROCESS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in output.splitlines()
        if line[:1].isalpha()
    }
    with gunicorn("microblog:app", app_env(database, sink.port, free_port())) as server:
        visitor = Browser(server.url)
        body = visitor.form("/login", username=READER, password=PASSWORD)
        figures["login"] = wrk(
            server.url + "/login", args.seconds, body, visitor.cookie
        )
    return figures
