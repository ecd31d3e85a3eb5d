# UDPPingerServer.py from seed 003 (the course's server), ported to Python 3.
# Changes: print() calls; the port comes from argv (0 = any) and the bound
# address is printed once so tests need no fixed port. Behaviour unchanged:
# randint(0, 10) < 4 drops (4 in 11, about 36%), recvfrom(1024) truncates.
import random
import sys
from socket import *

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', int(sys.argv[1]) if len(sys.argv) > 1 else 12000))
print("listening on 127.0.0.1:%d" % serverSocket.getsockname()[1], flush=True)

while True:
    rand = random.randint(0, 10)
    message, address = serverSocket.recvfrom(1024)
    message = message.upper()
    print(message, flush=True)
    if rand < 4:
        print("Oops, dropped it!", flush=True)
        continue
    serverSocket.sendto(message, address)
