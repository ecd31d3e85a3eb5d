# server.py from seed 004 (part 1), Python 3 already. Changes: the port comes
# from argv (0 = any) and the bound address is printed for the test harness.
import random
import sys
from socket import *  # Socket library

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('127.0.0.1', int(sys.argv[1]) if len(sys.argv) > 1 else 12000))
print("Started UDP Server IP Address: 127.0.0.1 and Port: 12000")
print("listening on 127.0.0.1:%d" % serverSocket.getsockname()[1], flush=True)
while True:
    rand = random.randint(1, 10)
    message, address = serverSocket.recvfrom(1024)
    message = message.upper()
    if rand < 4:
        continue
    serverSocket.sendto(message, address)
